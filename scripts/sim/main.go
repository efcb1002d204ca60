// Command sim runs the Acronis simulator standalone, for trying the
// functions or the CLI by hand:
//
//	go run ./scripts/sim -addr 127.0.0.1:8765 -partners 3 -customers 10 -units 2
//
// It prints the base URL and an API client to put in the client secret.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8765", "listen address (loopback)")
	partners := flag.Int("partners", 3, "partners under the root")
	customers := flag.Int("customers", 10, "customers per partner")
	units := flag.Int("units", 1, "units per customer")
	latency := flag.Duration("latency", 0, "added latency per request")
	rate429 := flag.Float64("rate429", 0, "share of requests answered 429")
	rate5xx := flag.Float64("rate5xx", 0, "share of requests answered 5xx")
	rps := flag.Float64("rps", 0, "server-wide limit in requests per rolling second (0 = none)")
	ttl := flag.Duration("token-ttl", 2*time.Hour, "access token lifetime")
	flag.Parse()

	sim := acronistest.New(acronistest.Config{TokenTTL: *ttl, Faults: acronistest.Faults{
		Latency: *latency, Rate429: *rate429, Rate5xx: *rate5xx, RateLimit: *rps,
	}})
	ids := sim.GenerateTree(*partners, *customers, *units)
	id, secret := sim.AddAPIClient("")
	sim.AddLoginUser("admin", "admin", "")
	base := "http://" + *addr
	creds, _ := json.Marshal(map[string]string{"base_url": base, "client_id": id, "client_secret": secret})
	fmt.Printf("Acronis simulator on %s: root tenant %s, %d tenants below it\n", base, sim.RootTenantID(), len(ids))
	fmt.Printf("API client secret value (simulator only):\n%s\n", creds)
	fmt.Println("Console login for scripts/bootstrap-api-client: admin / admin")
	log.Fatal(http.ListenAndServe(*addr, sim.Handler()))
}
