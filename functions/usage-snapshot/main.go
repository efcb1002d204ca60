// Command usage-snapshot is the Lambda that records every tenant's usage in
// S3: daily on a schedule with {}, or by hand with
// {"date": "YYYY-MM-DD", "root_tenant_id": "..."}.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/lambdafn"
	"github.com/acp-serverless/acp-serverless/shared/throttle"
	"github.com/acp-serverless/acp-serverless/shared/usage"
)

func main() {
	lambdafn.Start("usage-snapshot", func(ctx context.Context, log *slog.Logger) (func(context.Context, json.RawMessage) (usage.Result, error), error) {
		cfg, err := awsenv.Load(ctx, "")
		if err != nil {
			return nil, err
		}
		tokens, err := lambdafn.AcronisTokens(cfg, os.Getenv)
		if err != nil {
			return nil, err
		}
		bucket, err := lambdafn.Bucket(cfg, os.Getenv)
		if err != nil {
			return nil, err
		}
		rps, err := envFloat("ACRONIS_MAX_RPS", 10)
		if err != nil {
			return nil, err
		}
		workers, err := envFloat("USAGE_WORKERS", usage.DefaultWorkers)
		if err != nil {
			return nil, err
		}
		root := os.Getenv("ROOT_TENANT_ID")
		if root != "" {
			if err := acronis.CheckUUID(root); err != nil {
				return nil, fmt.Errorf("configuration: ROOT_TENANT_ID: %w", err)
			}
		}
		// One pace for the whole invocation, retries included.
		hc := acronis.NewHTTPClient(acronis.HTTPOptions{Base: throttle.New(nil, rps, 1)})
		return func(ctx context.Context, raw json.RawMessage) (usage.Result, error) {
			req, err := usage.ParseRequest(raw)
			if err != nil {
				return usage.Result{}, err
			}
			client, err := tokens.Client(ctx, hc)
			if err != nil {
				return usage.Result{}, err
			}
			job := &usage.Job{
				API: client, Store: bucket, Log: log, RootTenantID: root, Workers: int(workers),
				OwnerTenant: func(ctx context.Context) (string, error) {
					tok, err := tokens.Token(ctx)
					if err != nil {
						return "", err
					}
					return acronis.TokenOwnerTenant(tok.AccessToken)
				},
			}
			return job.Run(ctx, req)
		}, nil
	})
}

// envFloat reads an optional positive number.
func envFloat(name string, def float64) (float64, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 || f > 1000 {
		return 0, fmt.Errorf("configuration: %s: %q is not a number in (0, 1000]", name, v)
	}
	return f, nil
}
