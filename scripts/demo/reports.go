package main

import (
	"context"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/reports"
)

// runReportDownload fetches last month's usage_summary as CSV v2 and JSON
// v1 (json_v2_0 is never listed as stored: see the README). The simulator
// renders each from the demo's tenant tree, whole, and takes a few seconds
// to generate it, so the wait is real.
func runReportDownload(ctx context.Context, d *demo) (any, error) {
	d.sim.SetReportBehavior(acronistest.ReportBehavior{ListDelay: 500 * time.Millisecond, Generation: 2 * time.Second})
	spec, err := reports.ParseRequest([]byte(`{"kind":"usage_summary","period":"last_month","formats":["csv_v2_0","json_v1"]}`), reports.Request{}, time.Now())
	if err != nil {
		return nil, err
	}
	job := &reports.Job{Client: d.client, Store: d.bucket, Log: d.log, Root: acronis.RootTenant{ID: d.sim.RootTenantID()}, PollMin: 500 * time.Millisecond}
	return job.Run(ctx, spec)
}
