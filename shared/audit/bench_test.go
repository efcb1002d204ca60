package audit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/audit"
)

// BenchmarkAuditExtraCalls counts, from the simulator's request log, the
// API calls the alerts, tasks and agents add to one full run, at 1,000 and
// 10,000 customers of 3 machines each (go test -run '^$' -bench
// AuditExtraCalls -benchtime 1x ./shared/audit/).
func BenchmarkAuditExtraCalls(b *testing.B) {
	for _, tenants := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("tenants=%d", tenants), func(b *testing.B) {
			w := newWorld(b, 0, 0, 0, 0)
			for i := range tenants {
				id := w.sim.AddTenant(acronistest.TenantSpec{Name: fmt.Sprintf("Bench %05d", i), Kind: "customer"})
				w.sim.AddResources(id, 3, int64(i))
			}
			for b.Loop() {
				w.sim.ResetLog()
				if _, err := w.job.Run(context.Background(), audit.Request{}); err != nil {
					b.Fatal(err)
				}
			}
			calls := map[string]int{}
			for _, r := range w.sim.Requests() {
				for _, p := range []string{acronis.AlertsPath, acronis.TasksPath, acronis.AgentsPath, acronis.PolicyStatusesPath} {
					if strings.HasPrefix(r.Path, p) {
						calls[p]++
					}
				}
			}
			b.ReportMetric(float64(calls[acronis.AlertsPath]), "alert-calls/run")
			b.ReportMetric(float64(calls[acronis.TasksPath]), "task-calls/run")
			b.ReportMetric(float64(calls[acronis.AgentsPath]), "agent-calls/run")
			b.ReportMetric(float64(calls[acronis.AlertsPath]+calls[acronis.TasksPath]+calls[acronis.AgentsPath]), "extra-calls/run")
			b.ReportMetric(float64(calls[acronis.PolicyStatusesPath]), "status-calls/run")
		})
	}
}
