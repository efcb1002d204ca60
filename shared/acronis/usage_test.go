package acronis_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
)

func TestDecodeUsages(t *testing.T) {
	tests := []struct {
		name, body       string
		wantLegacy       string
		wantValue        string
		wantErrSubstring string
	}{
		{"legacy id number", `{"items":[{"tenant_id":1234,"value":9007199254740993}]}`, "1234", "9007199254740993", ""},
		{"legacy id string", `{"items":[{"tenant_id":"1234","value":12.375}]}`, "1234", "12.375", ""},
		{"legacy id null", `{"items":[{"tenant_id":null,"value":0}]}`, "", "0", ""},
		{"legacy id not numeric", `{"items":[{"tenant_id":"12a","value":1}]}`, "", "", "not a non-negative integer"},
		{"legacy id bool", `{"items":[{"tenant_id":true,"value":1}]}`, "", "", "not a number or string"},
		{"legacy id object", `{"items":[{"tenant_id":{"id":1},"value":1}]}`, "", "", "not a number or string"},
		{"legacy id fraction", `{"items":[{"tenant_id":12.5,"value":1}]}`, "", "", "not a non-negative integer"},
		{"legacy id exponent", `{"items":[{"tenant_id":1e3,"value":1}]}`, "", "", "not a non-negative integer"},
		{"legacy id negative", `{"items":[{"tenant_id":-3,"value":1}]}`, "", "", "not a non-negative integer"},
		{"value quoted junk", `{"items":[{"value":"abc"}]}`, "", "", ""},
		{"value missing", `{"items":[{"name":"x"}]}`, "", "", "is not a number"},
		{"not json", `{"items":[`, "", "", "decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us, err := acronis.DecodeUsages([]byte(tt.body))
			if tt.name == "value quoted junk" {
				// json.Number refuses a non-number string itself.
				if err == nil {
					t.Fatal("accepted a quoted non-number value")
				}
				return
			}
			if tt.wantErrSubstring != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstring) {
					t.Fatalf("err %v, want %q", err, tt.wantErrSubstring)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(us[0].TenantID) != tt.wantLegacy || us[0].Value.String() != tt.wantValue {
				t.Fatalf("got legacy %q value %q", us[0].TenantID, us[0].Value)
			}
		})
	}
}

// Batch and single endpoints agree, numbers survive exactly, and the batch
// size limit is enforced before any request.
func TestUsagesAgainstSimulator(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 5})
	ids := sim.GenerateTree(2, 3, 1)
	c, _ := newClient(t, sim)
	ctx := context.Background()
	batch, err := c.UsagesBatch(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != len(ids) {
		t.Fatalf("%d tenants in batch, want %d", len(batch), len(ids))
	}
	for _, tu := range batch {
		single, err := c.TenantUsages(ctx, tu.Tenant)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(sim.TenantUsage(tu.Tenant))
		var wantU []acronis.Usage
		dec := json.NewDecoder(strings.NewReader(string(want)))
		dec.UseNumber()
		if err := dec.Decode(&wantU); err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(tu.Usages)
		b, _ := json.Marshal(single)
		w, _ := json.Marshal(wantU)
		if string(a) != string(b) || string(a) != string(w) {
			t.Fatalf("tenant %s:\nbatch  %s\nsingle %s\nwant   %s", tu.Tenant, a, b, w)
		}
		if tu.Usages[0].TenantID == "" || string(tu.Usages[0].TenantID) != jsonInt(sim.TenantLegacyID(tu.Tenant)) {
			t.Fatalf("legacy id %q, want %d", tu.Usages[0].TenantID, sim.TenantLegacyID(tu.Tenant))
		}
	}
	tooMany := make([]string, acronis.MaxBatch+1)
	for i := range tooMany {
		tooMany[i] = ids[0]
	}
	sim.ResetLog()
	if _, err := c.UsagesBatch(ctx, tooMany); err == nil || !strings.Contains(err.Error(), "at most 100") {
		t.Fatalf("err %v", err)
	}
	if _, err := c.UsagesBatch(ctx, []string{"42"}); err == nil || !strings.Contains(err.Error(), "tenants[0]") {
		t.Fatalf("err %v", err)
	}
	if n := len(sim.Requests()); n != 0 {
		t.Fatalf("%d requests for invalid batches", n)
	}
	if _, err := c.TenantUsages(ctx, "00000000-0000-4000-8000-000000000000"); !acronis.HasStatus(err, 404) {
		t.Fatalf("err %v, want 404", err)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestTokenOwnerTenant(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 6})
	cid, secret := sim.AddAPIClient("")
	tok := acronistest.MintToken(t, sim, cid, secret)
	got, err := acronis.TokenOwnerTenant(tok)
	if err != nil || got != sim.RootTenantID() {
		t.Fatalf("got %q %v, want %s", got, err, sim.RootTenantID())
	}
	for _, bad := range []string{"", "a.b", "a.!!!.c", "a.e30.c"} {
		if _, err := acronis.TokenOwnerTenant(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func FuzzDecodeUsages(f *testing.F) {
	f.Add([]byte(`{"items":[{"tenant_id":1234,"value":9007199254740993,"offering_item":{"status":1,"quota":{"value":null,"overage":5,"version":1}}}]}`))
	f.Add([]byte(`{"items":[{"tenant_id":"77","value":1.5,"absolute_value":"2"}]}`))
	f.Add([]byte(`{"items":[{"tenant":"00000000-0000-4000-8000-000000000000","usages":[]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		us, err := acronis.DecodeUsages(b)
		if err == nil {
			// Whatever decodes re-encodes to JSON with the same numbers.
			out, err := json.Marshal(us)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if !json.Valid(out) {
				t.Fatalf("invalid JSON %s", out)
			}
			for _, u := range us {
				if u.Value.String() == "" {
					t.Fatal("empty value accepted")
				}
			}
		}
		// What the streaming batch decoder accepts is a valid document whose
		// "items" (that exact key: encoding/json would also take "ITEMS")
		// holds as many entries, each with a checked tenant.
		batch, err := acronis.DecodeUsagesBatch(b)
		if err == nil {
			if !json.Valid(b) {
				t.Fatalf("accepted invalid JSON %q", b)
			}
			var top map[string]json.RawMessage
			var whole []acronis.TenantUsage
			if err := json.Unmarshal(b, &top); err != nil {
				t.Fatal(err)
			}
			if raw, ok := top["items"]; ok {
				if err := json.Unmarshal(raw, &whole); err != nil {
					t.Fatalf("items: %v", err)
				}
			}
			if len(whole) != len(batch) {
				t.Fatalf("streamed %d entries, whole decode %d", len(batch), len(whole))
			}
			for _, tu := range batch {
				if acronis.CheckUUID(tu.Tenant) != nil {
					t.Fatalf("tenant %q accepted", tu.Tenant)
				}
			}
		}
	})
}

// Calls reuse the keep-alive connection: Do reads each answer to its end.
func TestConnectionsReused(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 8})
	ids := sim.GenerateTree(2, 60, 1)
	c, _ := newClient(t, sim)
	var reused, fresh atomic.Int64
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if i.Reused {
			reused.Add(1)
		} else {
			fresh.Add(1)
		}
	}})
	for range 5 {
		if _, err := c.UsagesBatch(ctx, ids[:100]); err != nil {
			t.Fatal(err)
		}
	}
	if fresh.Load() > 1 {
		t.Fatalf("%d new connections for 5 sequential calls (%d reused)", fresh.Load(), reused.Load())
	}
}

func TestDecodeUsagesBatch(t *testing.T) {
	const a, b = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	entry := func(id, value string) string {
		return `{"tenant":"` + id + `","usages":[{"tenant_id":7,"value":` + value + `}]}`
	}
	tests := []struct {
		name, body string
		want       []string // tenant ids in order, with the first usage's value
		wantErr    string
	}{
		{"two entries", `{"items":[` + entry(a, "1.5") + `,` + entry(b, "9007199254740993") + `]}`, []string{a + "=1.5", b + "=9007199254740993"}, ""},
		{"other fields skipped", `{"paging":{"cursors":{}},"items":[` + entry(a, "2") + `],"x":[1,{"y":null}]}` + "\n", []string{a + "=2"}, ""},
		{"items null", `{"items":null}`, nil, ""},
		{"no items", `{}`, nil, ""},
		{"items spelt otherwise is another field", `{"ITEMS":[` + entry(a, "1") + `]}`, nil, ""},
		{"items twice", `{"items":[],"items":[]}`, nil, "items given twice"},
		{"items not a list", `{"items":{}}`, nil, "where a list belongs"},
		{"not an object", `[` + entry(a, "1") + `]`, nil, "where \"{\" belongs"},
		{"data after", `{"items":[]} {}`, nil, "data after the answer"},
		{"truncated", `{"items":[` + entry(a, "1") + `,{"tenant":"` + b, nil, "items[1]: decode"},
		{"tenant not a uuid", `{"items":[` + entry("42", "1") + `]}`, nil, "items[0].tenant"},
		{"value not a number", `{"items":[` + entry(a, `"1e"`) + `]}`, nil, "items[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := acronis.DecodeUsagesBatch([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, tu := range got {
				ids = append(ids, tu.Tenant+"="+tu.Usages[0].Value.String())
			}
			if strings.Join(ids, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("got %v, want %v", ids, tt.want)
			}
		})
	}
}

// EachTenantUsage stops at fn's error and returns it, and a later call on the
// same client still works (the connection was not left half read).
func TestEachTenantUsageStopsOnError(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 9})
	ids := sim.GenerateTree(2, 3, 1)
	c, _ := newClient(t, sim)
	ctx := context.Background()
	stop := errors.New("stop here")
	n := 0
	err := c.EachTenantUsage(ctx, ids, func(acronis.TenantUsage) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("err %v after %d entries, want %v after 2", err, n, stop)
	}
	all, err := c.UsagesBatch(ctx, ids)
	if err != nil || len(all) != len(ids) {
		t.Fatalf("%d entries, %v", len(all), err)
	}
}

// Answers cut off mid-body: whole-answer calls send again (three times at
// most, then ErrAnswerCut); the streaming call reports ErrAnswerCut and
// leaves starting over to its caller.
func TestCutAnswersRetried(t *testing.T) {
	apiCuts := acronistest.Faults{RateCut: 1, SkipTokenEP: true}
	tests := []struct {
		name     string
		faults   acronistest.Faults
		call     func(ctx context.Context, c *acronis.Client, src *acronis.CachedSource, ids []string) error
		wantSent int
	}{
		{"UsagesBatch", apiCuts, func(ctx context.Context, c *acronis.Client, _ *acronis.CachedSource, ids []string) error {
			_, err := c.UsagesBatch(ctx, ids)
			return err
		}, 3},
		{"Do (a list page)", apiCuts, func(ctx context.Context, c *acronis.Client, _ *acronis.CachedSource, ids []string) error {
			return c.Do(ctx, acronis.Request{Method: "GET", Path: "/api/2/tenants", Query: url.Values{"uuids": {ids[0]}}}, &struct{}{})
		}, 3},
		{"EachTenantUsage", apiCuts, func(ctx context.Context, c *acronis.Client, _ *acronis.CachedSource, ids []string) error {
			return c.EachTenantUsage(ctx, ids, func(acronis.TenantUsage) error { return nil })
		}, 1},
		{"token mint", acronistest.Faults{RateCut: 1, PathPrefix: acronis.TokenPath}, func(ctx context.Context, _ *acronis.Client, src *acronis.CachedSource, _ []string) error {
			tok, err := src.Token(ctx) // the cached one: no request
			if err != nil {
				return err
			}
			src.Invalidate(tok)
			_, err = src.Token(ctx)
			return err
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := acronistest.NewServer(t, acronistest.Config{Seed: 4})
			ids := sim.GenerateTree(2, 3, 1)
			c, src := newClient(t, sim)
			ctx := context.Background()
			if err := tt.call(ctx, c, src, ids); err != nil {
				t.Fatal(err)
			}
			sim.SetFaults(tt.faults)
			sim.ResetLog()
			err := tt.call(ctx, c, src, ids)
			if !errors.Is(err, acronis.ErrAnswerCut) {
				t.Fatalf("err %v, want ErrAnswerCut", err)
			}
			if n := len(sim.Requests()); n != tt.wantSent {
				t.Fatalf("sent %d times, want %d", n, tt.wantSent)
			}
		})
	}
}
