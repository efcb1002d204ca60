package reports_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
)

// The report's tenant: the request's tenant_id, else the deployment's
// (REPORT_TENANT_ID), else the API client's own; a report fetched by id
// never needs one.
func TestReportTenant(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		body       string // the request; %s is the other tenant
		configured bool   // REPORT_TENANT_ID is a third tenant
		ownerErr   error
		want       string // "root", "other", "third", or an error
	}{
		{"request wins", `{"tenant_id":"%s"}`, false, nil, "other"},
		{"request wins over configured", `{"tenant_id":"%s"}`, true, errors.New("not asked"), "other"},
		{"configured", `{}`, true, errors.New("not asked"), "third"},
		{"the token's owner", `{}`, false, nil, "root"},
		{"owner unknown", `{}`, false, errors.New("token secret unreadable"), "find the API client's tenant: token secret unreadable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t, acronistest.ReportBehavior{Size: 1 << 10}, nil)
			other := e.sim.AddTenant(acronistest.TenantSpec{Name: "Other Partner", Kind: "partner"})
			third := e.sim.AddTenant(acronistest.TenantSpec{Name: "Third Partner", Kind: "partner"})
			root := acronis.RootTenant{Owner: func(context.Context) (string, error) { return e.sim.RootTenantID(), tt.ownerErr }}
			if tt.configured {
				root.ID = third
			}
			e.job.Root = root
			res, err := e.job.Run(ctx, e.spec(t, strings.ReplaceAll(tt.body, "%s", other)))
			want := map[string]string{"root": e.sim.RootTenantID(), "other": other, "third": third}[tt.want]
			if want == "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) || e.posts() != 0 {
					t.Fatalf("err %v, %d reports created; want %q", err, e.posts(), tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			meta, err := e.store.(*objstore.Dir).Metadata(res.Objects[0].Key)
			if err != nil || meta.Metadata["tenant-id"] != want {
				t.Fatalf("tenant-id %q, want %q (%v)", meta.Metadata["tenant-id"], want, err)
			}
		})
	}
	t.Run("by report id, no tenant needed", func(t *testing.T) {
		e := setup(t, acronistest.ReportBehavior{Size: 1 << 10}, nil)
		first, err := e.job.Run(ctx, e.spec(t, `{}`))
		if err != nil {
			t.Fatal(err)
		}
		e.job.Root = acronis.RootTenant{Owner: func(context.Context) (string, error) { return "", errors.New("asked") }}
		e.clock.Add(time.Minute)
		if _, err := e.job.Run(ctx, e.spec(t, `{"report_id":"`+first.ReportID+`"}`)); err != nil {
			t.Fatal(err)
		}
	})
}
