package handler

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr/cbrtest"
)

// A CBR request the gateway holds open is given up after the header
// timeout and sent again, instead of holding the run until its deadline.
func TestCBRRequestHeldOpenIsSentAgain(t *testing.T) {
	sim := cbrtest.NewServer(t, cbrtest.Config{})
	sim.Populate(1, 3, 0)
	var calls atomic.Int32
	release := make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 { // the first request is held open
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Cleanup(func() { close(release) })
	creds := sim.Credentials()
	creds.Endpoint = front.URL
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := huaweicbr.New(creds, cbrHTTPClient(200*time.Millisecond)).ListPolicies(ctx, "")
	if err != nil || len(list) != 3 || calls.Load() != 2 {
		t.Fatalf("%d policies, %d calls: %v", len(list), calls.Load(), err)
	}
}
