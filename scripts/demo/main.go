// Command demo runs the whole job on one machine with no AWS and no Acronis
// account: the simulators, a folder standing in for Secrets Manager and one
// standing in for the S3 bucket (same key layout). `make demo` runs it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"github.com/acp-serverless/acp-serverless/shared/tokenrefresh"
)

// demo is what every step shares: the simulator, the local stores and a
// client that reads its token the way deployed functions do.
type demo struct {
	log            *slog.Logger
	sim            *acronistest.Server
	secrets        secrets.Store  // a folder, or Secrets Manager on moto (-moto)
	bucket         objstore.Store // a folder in the S3 layout, or an S3 bucket on moto (-moto)
	clientSecretID string
	tokenSecretID  string
	refresher      *tokenrefresh.Refresher
	tokens         *tokenrefresh.SecretSource
	client         *acronis.Client
	customers      []string // the simulated customers' tenant ids
	out            io.Writer
}

type step struct {
	name string
	run  func(ctx context.Context, d *demo) (any, error)
}

// steps run in order; each prints what it did.
var steps = []step{
	{"token-refresh", runTokenRefresh},
	{"tenant-provisioning", runProvisioning},
	{"usage-snapshot", runUsageSnapshot},
	{"report-download", runReportDownload},
	{"policy-audit", runPolicyAudit},
}

func main() {
	out := flag.String("out", "demo-out", "folder for the demo's output (bucket/ and secrets/)")
	verbose := flag.Bool("v", false, "show the functions' JSON logs")
	moto := flag.Bool("moto", false, "use moto_server's Secrets Manager and S3 instead of local folders (the bucket is copied to <out>/bucket at the end)")
	flag.Parse()
	if err := run(context.Background(), *out, *verbose, *moto, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out string, verbose, useMoto bool, w io.Writer) error {
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	logW := io.Discard
	if verbose {
		logW = os.Stderr
	}
	local := &objstore.Dir{Root: filepath.Join(out, "bucket")}
	d := &demo{
		log:            slog.New(slog.NewJSONHandler(logW, nil)),
		sim:            acronistest.New(acronistest.Config{Seed: 1}),
		secrets:        &secrets.Dir{Root: filepath.Join(out, "secrets")},
		bucket:         local,
		clientSecretID: "acronis-api-client",
		tokenSecretID:  "acronis-token",
		out:            w,
	}
	if useMoto {
		stop, err := d.useMoto(ctx, w)
		if err != nil {
			return err
		}
		defer stop()
	}
	d.sim.Start()
	defer d.sim.Close()
	if err := d.connect(ctx); err != nil {
		return err
	}
	fmt.Fprintf(w, "Acronis simulator at %s; output in %s/\n", d.sim.URL(), out)
	if err := d.runSteps(ctx, w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nObjects written under %s/bucket (same keys as in S3):\n", out)
	return d.listObjects(ctx, local, w)
}

// connect fills the simulated tree, stores an API client as the bootstrap
// script would, and builds the client every step shares.
func (d *demo) connect(ctx context.Context) error {
	for _, id := range d.sim.GenerateTree(3, 5, 2) {
		if t, _ := d.sim.Tenant(id); t["kind"] == "customer" {
			d.customers = append(d.customers, id)
		}
	}
	id, secret := d.sim.AddAPIClient("")
	creds, _ := json.Marshal(acronis.Credentials{BaseURL: d.sim.URL(), ClientID: id, ClientSecret: secret})
	if err := d.secrets.Put(ctx, d.clientSecretID, creds); err != nil {
		return err
	}
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{})
	d.refresher = &tokenrefresh.Refresher{Secrets: d.secrets, ClientSecretID: d.clientSecretID, TokenSecretID: d.tokenSecretID, HTTP: hc, Log: d.log}
	d.tokens = &tokenrefresh.SecretSource{Secrets: d.secrets, TokenSecretID: d.tokenSecretID,
		Refresh: func(ctx context.Context, req tokenrefresh.Request) error {
			_, err := d.refresher.Run(ctx, req)
			return err
		}}
	client, err := acronis.NewClient(d.sim.URL(), d.tokens, hc)
	d.client = client
	return err
}

// runSteps runs the steps in order. The heading comes first: what a step
// prints while it runs (the SNS stand-in) belongs under it.
func (d *demo) runSteps(ctx context.Context, w io.Writer) error {
	for _, s := range steps {
		fmt.Fprintf(w, "\n== %s\n", s.name)
		start := time.Now()
		res, err := s.run(ctx, d)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		b, _ := json.MarshalIndent(res, "  ", "  ")
		fmt.Fprintf(w, "  %s\n  (%v)\n", b, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// listObjects prints every key written, copying each into the local folder
// when the bucket was moto's.
func (d *demo) listObjects(ctx context.Context, local *objstore.Dir, w io.Writer) error {
	for k, err := range d.bucket.List(ctx, "") {
		if err != nil {
			return err
		}
		if d.bucket != objstore.Store(local) {
			if err := copyObject(ctx, d.bucket, local, k); err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "  %s\n", k)
	}
	return nil
}

func copyObject(ctx context.Context, from, to objstore.Store, key string) error {
	rc, err := from.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	return to.Put(ctx, key, rc, objstore.PutOptions{})
}

func runTokenRefresh(ctx context.Context, d *demo) (any, error) {
	return d.refresher.Run(ctx, tokenrefresh.Request{})
}
