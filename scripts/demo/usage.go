package main

import (
	"context"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/usage"
)

// runUsageSnapshot takes a snapshot of the whole simulated tree, with the
// root read from the token's owner_tuid as in a default deployment.
func runUsageSnapshot(ctx context.Context, d *demo) (any, error) {
	job := &usage.Job{
		API: d.client, Store: d.bucket, Log: d.log,
		Root: acronis.RootTenant{Owner: acronis.TokenOwner(d.tokens)},
	}
	res, err := job.Run(ctx, usage.Request{})
	if err != nil {
		return nil, err
	}
	return map[string]any{"run_id": res.RunID, "date": res.Date, "root_tenant_id": res.RootTenantID,
		"tenants": res.Tenants, "items": res.Items, "parts": len(res.Parts), "manifest": res.Manifest, "complete": res.Complete}, nil
}
