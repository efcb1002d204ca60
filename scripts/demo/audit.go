package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/audit"
	"github.com/acp-serverless/acp-serverless/shared/httpretry"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr/cbrtest"
)

// runPolicyAudit audits the simulated customers' machines and a simulated
// CBR project; report.html can be opened from the output folder.
func runPolicyAudit(ctx context.Context, d *demo) (any, error) {
	for i, id := range d.customers {
		d.sim.AddResources(id, 12, int64(i))
	}
	cbr := cbrtest.New(cbrtest.Config{Seed: 2})
	cbr.Start()
	defer cbr.Close()
	cbr.Populate(2, 12, 4)
	job := &audit.Job{
		Acronis: &audit.AcronisSource{Client: d.client},
		Root:    acronis.RootTenant{ID: d.sim.RootTenantID()},
		CBR:     &audit.CBRSource{Client: huaweicbr.New(cbr.Credentials(), &http.Client{Transport: httpretry.NewTransport(nil, httpretry.Policy{})}), Project: "demo-project"},
		Store:   d.bucket, Log: d.log, Notifier: printNotifier{d.out}, Metrics: nil,
	}
	res, err := job.Run(ctx, audit.Request{})
	if err != nil {
		return nil, err
	}
	return map[string]any{"prefix": res.Prefix, "findings": res.Findings, "by_severity": res.BySeverity, "new_critical": res.NewCritical,
		"providers": res.Providers, "notified": res.Notified, "announced": res.Announced, "resolved": res.Resolved, "open": res.Prefix + "report.html"}, nil
}

// printNotifier stands in for SNS: it prints the subject under the step.
type printNotifier struct{ w io.Writer }

func (p printNotifier) Notify(_ context.Context, subject, _ string) error {
	fmt.Fprintf(p.w, "  (SNS stand-in) would publish: %s\n", subject)
	return nil
}
