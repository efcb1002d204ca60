package acronis_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
)

// BenchmarkTokenSource100Callers: 100 goroutines want a token at once, with
// 20 ms of latency at the token endpoint. "shared" is the CachedSource (one
// request expected); "unshared" is each caller minting its own, the baseline.
func BenchmarkTokenSource100Callers(b *testing.B) {
	sim := acronistest.New(acronistest.Config{SkipContract: true, Faults: acronistest.Faults{Latency: 20 * time.Millisecond}})
	sim.Start()
	defer sim.Close()
	id, secret := sim.AddAPIClient("")
	cc := &acronis.ClientCredentials{Creds: acronis.Credentials{BaseURL: sim.URL(), ClientID: id, ClientSecret: secret},
		HTTP: acronis.NewHTTPClient(acronis.HTTPOptions{})}
	for _, mode := range []string{"shared", "unshared"} {
		b.Run(mode, func(b *testing.B) {
			sim.ResetLog()
			for b.Loop() {
				var src acronis.TokenSource = cc
				if mode == "shared" {
					src = acronis.NewCachedSource(cc, 0)
				}
				var wg sync.WaitGroup
				for range 100 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := src.Token(context.Background()); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(sim.CountRequests("POST", acronis.TokenPath))/float64(b.N), "token-requests/op")
		})
	}
}

// BenchmarkCursorWalk10k walks 10,000 tenants through the simulator, 1 ms of
// latency per request, at two page sizes; the 100-item walk is the baseline
// (the page size integrations commonly ask for).
func BenchmarkCursorWalk10k(b *testing.B) {
	sim := acronistest.New(acronistest.Config{SkipContract: true, PageCap: 1000, Faults: acronistest.Faults{Latency: time.Millisecond}})
	sim.Start()
	defer sim.Close()
	n := len(sim.GenerateTree(10, 333, 2)) + 1 // 10*(1+333*3)+1 = 10,001
	id, secret := sim.AddAPIClient("")
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{})
	src := acronis.NewCachedSource(&acronis.ClientCredentials{Creds: acronis.Credentials{BaseURL: sim.URL(), ClientID: id, ClientSecret: secret}, HTTP: hc}, 0)
	c, _ := acronis.NewClient(sim.URL(), src, hc)
	for _, limit := range []int{1000, 100} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			sim.ResetLog()
			for b.Loop() {
				got := 0
				for page, err := range c.ListTenants(context.Background(), acronis.TenantFilter{SubtreeRootID: sim.RootTenantID(), Limit: limit}) {
					if err != nil {
						b.Fatal(err)
					}
					got += len(page)
				}
				if got != n {
					b.Fatalf("walked %d tenants, want %d", got, n)
				}
			}
			b.ReportMetric(float64(sim.CountRequests("GET", "/api/2/tenants"))/float64(b.N), "requests/op")
			b.ReportMetric(float64(n), "tenants")
		})
	}
}
