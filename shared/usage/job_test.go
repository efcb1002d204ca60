package usage_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/httpretry"
	"github.com/acp-serverless/acp-serverless/shared/mototest"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
	"github.com/acp-serverless/acp-serverless/shared/throttle"
	"github.com/acp-serverless/acp-serverless/shared/usage"
)

func TestMain(m *testing.M) {
	// The benchmarks run the simulator in a child process (this binary again),
	// so its memory stays out of the heap they measure.
	if tree := os.Getenv(simProcEnv); tree != "" {
		serveSimProcess(tree)
		return
	}
	// Fuzz workers re-run this binary and need no moto_server of their own.
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.fuzzworker") {
			os.Exit(m.Run())
		}
	}
	mototest.Main(m)
}

var fastRetry = httpretry.Policy{MaxAttempts: 8, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

// newClient builds a client the way the function does: token refresh on 401,
// retries, and the client-side pace.
func newClient(t testing.TB, sim *acronistest.Server, rps float64) (*acronis.Client, *acronis.CachedSource) {
	t.Helper()
	id, secret := sim.AddAPIClient("")
	pace := throttle.New(nil, rps, 4)
	pace.MaxPause = 5 * time.Millisecond
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{Retry: fastRetry, Base: pace})
	src := acronis.NewCachedSource(&acronis.ClientCredentials{
		Creds: acronis.Credentials{BaseURL: sim.URL(), ClientID: id, ClientSecret: secret}, HTTP: hc,
	}, time.Minute)
	c, err := acronis.NewClient(sim.URL(), src, hc)
	if err != nil {
		t.Fatal(err)
	}
	return c, src
}

// readRun returns a run's manifest and its lines, each normalised to the
// fields that must not change between runs, sorted.
func readRun(t *testing.T, st objstore.Store, manifestKey string) (usage.Result, []string) {
	t.Helper()
	ctx := context.Background()
	rc, err := st.Get(ctx, manifestKey)
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	var m usage.Result
	if err := json.NewDecoder(rc).Decode(&m); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	var lines []string
	prefix := strings.TrimSuffix(manifestKey, "_manifest.json")
	for key, err := range st.List(ctx, prefix) {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(key, ".jsonl.gz") {
			continue
		}
		rc, err := st.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(rc)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		dec := json.NewDecoder(zr)
		dec.UseNumber()
		for {
			var l map[string]any
			if err := dec.Decode(&l); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			if l["run_id"] != m.RunID || l["snapshot_date"] != m.Date {
				t.Fatalf("line of another run: %v", l)
			}
			lines = append(lines, tuple(l["tenant_uuid"], l["tenant_name"], l["tenant_kind"], l["parent_id"], l["customer_id"],
				l["tenant_legacy_id"], l["name"], l["usage_name"], l["edition"], l["value"], l["absolute_value"], l["quota_value"], l["quota_overage"], l["infra_id"]))
		}
		rc.Close()
	}
	slices.Sort(lines)
	return m, lines
}

func tuple(v ...any) string {
	var b strings.Builder
	for _, x := range v {
		switch x := x.(type) {
		case nil:
			b.WriteString("-")
		default:
			fmt.Fprint(&b, x)
		}
		b.WriteByte('|')
	}
	return b.String()
}

// expected builds the lines straight from the simulator's records.
func expected(t *testing.T, sim *acronistest.Server, ids []string) []string {
	t.Helper()
	var out []string
	for _, id := range ids {
		rec, _ := sim.Tenant(id)
		b, _ := json.Marshal(sim.TenantUsage(id))
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		var items []map[string]any
		if err := dec.Decode(&items); err != nil {
			t.Fatal(err)
		}
		for _, u := range items {
			var qv, qo any
			if oi, ok := u["offering_item"].(map[string]any); ok {
				q := oi["quota"].(map[string]any)
				qv, qo = q["value"], q["overage"]
			}
			legacy := fmt.Sprint(u["tenant_id"])
			out = append(out, tuple(id, rec["name"], rec["kind"], rec["parent_id"], rec["customer_id"], legacy,
				u["name"], u["usage_name"], u["edition"], u["value"], u["absolute_value"], qv, qo, u["infra_id"]))
		}
	}
	slices.Sort(out)
	return out
}

func allIDs(sim *acronistest.Server, ids []string) []string {
	return append([]string{sim.RootTenantID()}, ids...)
}

func TestSnapshotWholeTree(t *testing.T) {
	tests := []struct {
		name      string
		pageCap   int
		workers   int
		partBytes int64
		quirks    bool
		tree      [3]int
	}{
		{"many pages, many parts", 7, 3, 4 << 10, false, [3]int{3, 5, 2}},
		{"field quirks: fractions and string legacy ids", 50, 2, 1 << 20, true, [3]int{2, 3, 1}},
		{"more tenants than a batch, one part", 500, 8, 64 << 20, false, [3]int{4, 30, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := acronistest.NewServer(t, acronistest.Config{Seed: 11, PageCap: tt.pageCap})
			ids := sim.GenerateTree(tt.tree[0], tt.tree[1], tt.tree[2])
			sim.SetUsageQuirks(tt.quirks)
			c, _ := newClient(t, sim, 1000)
			st := &objstore.Dir{Root: t.TempDir()}
			job := &usage.Job{API: c, Store: st, Workers: tt.workers, PartBytes: tt.partBytes, PageLimit: 1000}
			res, err := job.Run(context.Background(), usage.Request{RootTenantID: sim.RootTenantID()})
			if err != nil {
				t.Fatal(err)
			}
			m, lines := readRun(t, st, res.Manifest)
			want := expected(t, sim, allIDs(sim, ids))
			if !slices.Equal(lines, want) {
				t.Fatalf("%d lines, want %d\nfirst got  %q\nfirst want %q", len(lines), len(want), first(lines), first(want))
			}
			if !m.Complete || m.Tenants != int64(len(ids)+1) || m.Items != int64(len(want)) || m.Error != "" {
				t.Fatalf("manifest %+v", m)
			}
			var partLines int64
			for _, p := range m.Parts {
				partLines += p.Lines
			}
			if partLines != m.Items {
				t.Fatalf("parts hold %d lines, manifest says %d", partLines, m.Items)
			}
			if tt.partBytes < 8<<10 && len(m.Parts) < 3 {
				t.Fatalf("%d parts; small parts should roll over", len(m.Parts))
			}
			// Batch endpoint only, at most 100 tenants a call, every cursor followed.
			batches := 0
			for _, r := range sim.Requests() {
				if r.Path == "/api/2/tenants/usages" {
					batches++
					q, _ := url.ParseQuery(r.Query)
					if n := len(strings.Split(q.Get("tenants"), ",")); n > 100 {
						t.Fatalf("batch of %d tenants", n)
					}
				} else if strings.HasSuffix(r.Path, "/usages") {
					t.Fatalf("per-tenant call %s", r.Path)
				}
			}
			if want := (len(ids) + 1 + 99) / 100; batches != want {
				t.Fatalf("%d batch calls, want %d", batches, want)
			}
			if pages := sim.CountRequests("GET", "/api/2/tenants") - batches; pages != (len(ids)+1+tt.pageCap-1)/tt.pageCap {
				t.Fatalf("%d list pages for %d tenants at %d a page", pages, len(ids)+1, tt.pageCap)
			}
			if tt.quirks && !strings.Contains(strings.Join(lines, "\n"), ".") {
				t.Fatal("no fractional value survived")
			}
		})
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// With 429s, 5xx, dropped connections, answers cut off mid-body and a token
// that dies mid-run, the snapshot holds exactly what a fault-free run holds.
func TestSnapshotUnderFaults(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 21, PageCap: 20})
	ids := sim.GenerateTree(4, 20, 4)
	c, _ := newClient(t, sim, 2000)
	st := &objstore.Dir{Root: t.TempDir()}
	job := &usage.Job{API: c, Store: st, Workers: 4, PartBytes: 16 << 10}
	ctx := context.Background()
	clean, err := job.Run(ctx, usage.Request{RootTenantID: sim.RootTenantID()})
	if err != nil {
		t.Fatal(err)
	}
	_, want := readRun(t, st, clean.Manifest)
	if len(want) == 0 {
		t.Fatal("fault-free run is empty")
	}

	sim.SetFaults(acronistest.Faults{Rate429: 0.08, Rate5xx: 0.08, RateDrop: 0.05, RateCut: 0.05, RetryAfter: 1})
	sim.ResetLog()
	stop := make(chan struct{})
	expired := make(chan struct{})
	go func() {
		defer close(expired)
		for sim.CountRequests("GET", "/api/2/tenants/usages") < 3 {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
		sim.ExpireTokens()
	}()
	faulty, err := job.Run(ctx, usage.Request{RootTenantID: sim.RootTenantID()})
	close(stop)
	<-expired
	if err != nil {
		t.Fatal(err)
	}
	m, got := readRun(t, st, faulty.Manifest)
	if !slices.Equal(got, want) {
		t.Fatalf("faulty run: %d lines, fault-free %d", len(got), len(want))
	}
	if !m.Complete || faulty.RunID == clean.RunID || m.Tenants != int64(len(ids)+1) {
		t.Fatalf("manifest %+v", m)
	}
	var faults, unauthorized int
	for _, r := range sim.Requests() {
		switch r.Status {
		case 429, 500, 502, 503, acronistest.StatusDropped, acronistest.StatusCut:
			faults++
		case 401:
			unauthorized++
		}
	}
	if faults == 0 || unauthorized == 0 {
		t.Fatalf("faults %d, 401s %d: the test did not exercise them", faults, unauthorized)
	}
}

// A run that cannot finish returns an error and leaves a manifest that says
// complete=false with the reason; nothing claims completeness.
func TestSnapshotFailure(t *testing.T) {
	tests := []struct {
		name    string
		faults  acronistest.Faults
		root    func(sim *acronistest.Server, other string) string
		wantErr string
	}{
		{"usage endpoint keeps failing", acronistest.Faults{Rate5xx: 1, PathPrefix: "/api/2/tenants/usages"},
			func(sim *acronistest.Server, _ string) string { return sim.RootTenantID() }, "tenants/usages"},
		{"listing keeps failing", acronistest.Faults{Rate5xx: 1, PathPrefix: "/api/2/tenants"},
			func(sim *acronistest.Server, _ string) string { return sim.RootTenantID() }, "list tenants"},
		{"root outside the client's scope", acronistest.Faults{},
			func(_ *acronistest.Server, other string) string { return other }, "no tenants under"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := acronistest.NewServer(t, acronistest.Config{Seed: 31, PageCap: 10})
			ids := sim.GenerateTree(2, 3, 1)
			// The client belongs to the first partner; the second is foreign to it.
			cid, secret := sim.AddAPIClient(ids[0])
			hc := acronis.NewHTTPClient(acronis.HTTPOptions{Retry: fastRetry})
			src := acronis.NewCachedSource(&acronis.ClientCredentials{Creds: acronis.Credentials{BaseURL: sim.URL(), ClientID: cid, ClientSecret: secret}, HTTP: hc}, time.Minute)
			c, _ := acronis.NewClient(sim.URL(), src, hc)
			root := tt.root(sim, ids[len(ids)/2])
			if root == sim.RootTenantID() {
				root = ids[0]
			}
			sim.SetFaults(tt.faults)
			st := &objstore.Dir{Root: t.TempDir()}
			job := &usage.Job{API: c, Store: st, PartBytes: 1 << 10}
			res, err := job.Run(context.Background(), usage.Request{RootTenantID: root})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
			m, _ := readRun(t, st, res.Manifest)
			if m.Complete || !strings.Contains(m.Error, tt.wantErr) {
				t.Fatalf("manifest %+v", m)
			}
			for k, err := range st.List(context.Background(), "usage/") {
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasSuffix(k, ".json") {
					rc, _ := st.Get(context.Background(), k)
					b, _ := io.ReadAll(rc)
					rc.Close()
					if strings.Contains(string(b), `"complete":true`) {
						t.Fatalf("%s claims completeness: %s", k, b)
					}
				}
			}
		})
	}
}

// Re-running a date makes a new run beside the first; nothing is overwritten.
func TestRerunSameDate(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 41})
	sim.GenerateTree(1, 2, 0)
	c, _ := newClient(t, sim, 1000)
	st := &objstore.Dir{Root: t.TempDir()}
	job := &usage.Job{API: c, Store: st}
	date := time.Now().UTC().Format(time.DateOnly)
	var manifests []string
	for range 2 {
		res, err := job.Run(context.Background(), usage.Request{Date: date, RootTenantID: sim.RootTenantID()})
		if err != nil {
			t.Fatal(err)
		}
		manifests = append(manifests, res.Manifest)
	}
	if manifests[0] == manifests[1] {
		t.Fatalf("same manifest key twice: %s", manifests[0])
	}
	for _, k := range manifests {
		if !strings.HasPrefix(k, "usage/dt="+date+"/run=") {
			t.Fatalf("key %s", k)
		}
		if m, lines := readRun(t, st, k); !m.Complete || len(lines) == 0 {
			t.Fatalf("%s: %+v", k, m)
		}
	}
	n := 0
	for k := range st.List(context.Background(), "usage/runs/dt="+date+"/") {
		if strings.HasSuffix(k, ".json") {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d runs in the index, want 2", n)
	}
}

// The root comes from the request, else the job's configuration, else the
// token's owner_tuid.
func TestRootTenantResolution(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 51})
	ids := sim.GenerateTree(2, 1, 0)
	c, src := newClient(t, sim, 1000)
	owner := func(ctx context.Context) (string, error) {
		tok, err := src.Token(ctx)
		if err != nil {
			return "", err
		}
		return acronis.TokenOwnerTenant(tok.AccessToken)
	}
	tests := []struct {
		name, req, configured, want string
	}{
		{"request wins", ids[2], ids[0], ids[2]},
		{"configured", "", ids[0], ids[0]},
		{"token owner", "", "", sim.RootTenantID()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := &usage.Job{API: c, Store: &objstore.Dir{Root: t.TempDir()}, Root: acronis.RootTenant{ID: tt.configured, Owner: owner}}
			res, err := job.Run(context.Background(), usage.Request{RootTenantID: tt.req})
			if err != nil {
				t.Fatal(err)
			}
			if res.RootTenantID != tt.want {
				t.Fatalf("root %s, want %s", res.RootTenantID, tt.want)
			}
		})
	}
}

// Against moto's S3: parts are real multipart-capable objects, the manifest a
// conditional create.
func TestSnapshotToS3(t *testing.T) {
	moto := mototest.Get(t)
	ctx := context.Background()
	st := newS3Store(t, moto)
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 61, PageCap: 25})
	ids := sim.GenerateTree(2, 10, 2)
	c, _ := newClient(t, sim, 1000)
	job := &usage.Job{API: c, Store: st, PartBytes: 8 << 10}
	res, err := job.Run(ctx, usage.Request{RootTenantID: sim.RootTenantID()})
	if err != nil {
		t.Fatal(err)
	}
	m, lines := readRun(t, st, res.Manifest)
	if want := expected(t, sim, allIDs(sim, ids)); !slices.Equal(lines, want) || !m.Complete || len(m.Parts) < 2 {
		t.Fatalf("%d lines, want %d; manifest %+v", len(lines), len(want), m)
	}
	// The manifest key is taken: a second write must not replace it.
	if err := st.PutIfAbsent(ctx, res.Manifest, strings.NewReader("{}"), objstore.PutOptions{}); err == nil {
		t.Fatal("manifest overwritten")
	}
}

// deletingAPI deletes a tenant after the walk saw it, before its usage is
// fetched: the tenant is then missing from its batch answer.
type deletingAPI struct {
	*acronis.Client
	once sync.Once
	del  func()
}

func (d *deletingAPI) EachTenantUsage(ctx context.Context, ids []string, fn func(acronis.TenantUsage) error) error {
	d.once.Do(d.del)
	return d.Client.EachTenantUsage(ctx, ids, fn)
}

// A tenant deleted mid-run is asked for alone, counted and named as gone;
// the run is still complete and holds everyone else.
func TestTenantDeletedMidRun(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 71})
	ids := sim.GenerateTree(2, 3, 1)
	c, _ := newClient(t, sim, 1000)
	victim := ids[2] // a unit: no children
	if rec, _ := sim.Tenant(victim); rec["kind"] != "unit" {
		t.Fatalf("victim is %v", rec["kind"])
	}
	ctx := context.Background()
	api := &deletingAPI{Client: c, del: func() {
		off := false
		tn, err := c.UpdateTenant(ctx, victim, acronis.TenantPut{Version: 1, Enabled: &off})
		if err == nil {
			err = c.DeleteTenant(ctx, victim, tn.Version)
		}
		if err != nil {
			t.Errorf("delete: %v", err)
		}
	}}
	st := &objstore.Dir{Root: t.TempDir()}
	var survivors []string
	for _, id := range allIDs(sim, ids) {
		if id != victim {
			survivors = append(survivors, id)
		}
	}
	want := expected(t, sim, survivors)
	res, err := (&usage.Job{API: api, Store: st}).Run(ctx, usage.Request{RootTenantID: sim.RootTenantID()})
	if err != nil {
		t.Fatal(err)
	}
	m, lines := readRun(t, st, res.Manifest)
	if !slices.Equal(lines, want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	if !m.Complete || m.TenantsGone != 1 || len(m.GoneTenantIDs) != 1 || m.GoneTenantIDs[0] != victim || m.Tenants != int64(len(ids)+1) {
		t.Fatalf("manifest %+v", m)
	}
	if n := sim.CountRequests("GET", "/api/2/tenants/"+victim+"/usages"); n != 1 {
		t.Fatalf("%d single calls for the missing tenant, want 1", n)
	}
}

// A run cut short by the invocation's deadline still leaves its manifest,
// saying it is incomplete.
func TestDeadlineLeavesIncompleteManifest(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 81, PageCap: 10})
	sim.GenerateTree(3, 10, 1)
	c, _ := newClient(t, sim, 1000)
	sim.SetFaults(acronistest.Faults{Latency: 30 * time.Millisecond})
	st := &objstore.Dir{Root: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	res, err := (&usage.Job{API: c, Store: st, Workers: 1}).Run(ctx, usage.Request{RootTenantID: sim.RootTenantID()})
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("err %v, want a deadline", err)
	}
	m, _ := readRun(t, st, res.Manifest)
	if m.Complete || !strings.Contains(m.Error, "deadline") {
		t.Fatalf("manifest %+v", m)
	}
}

// shiftingAPI repeats the last tenant of each page at the start of the next,
// as offset cursors do when a tenant is created ahead of the cursor mid-walk.
type shiftingAPI struct{ *acronis.Client }

func (s shiftingAPI) ListTenants(ctx context.Context, f acronis.TenantFilter) iter.Seq2[[]acronis.Tenant, error] {
	return func(yield func([]acronis.Tenant, error) bool) {
		var last *acronis.Tenant
		for page, err := range s.Client.ListTenants(ctx, f) {
			if err != nil {
				yield(nil, err)
				return
			}
			out := page
			if last != nil {
				out = append([]acronis.Tenant{*last}, page...)
			}
			l := page[len(page)-1]
			last = &l
			if !yield(out, nil) {
				return
			}
		}
	}
}

// A tenant shown twice across a page boundary is billed once and counted.
func TestDuplicateAcrossPagesSkipped(t *testing.T) {
	sim := acronistest.NewServer(t, acronistest.Config{Seed: 91, PageCap: 10})
	ids := sim.GenerateTree(2, 5, 1)
	c, _ := newClient(t, sim, 1000)
	st := &objstore.Dir{Root: t.TempDir()}
	res, err := (&usage.Job{API: shiftingAPI{c}, Store: st, PageLimit: 10}).Run(context.Background(), usage.Request{RootTenantID: sim.RootTenantID()})
	if err != nil {
		t.Fatal(err)
	}
	m, lines := readRun(t, st, res.Manifest)
	pages := (len(ids) + 1 + 9) / 10
	if want := expected(t, sim, allIDs(sim, ids)); !slices.Equal(lines, want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	if m.DuplicatesSkipped != int64(pages-1) || m.Tenants != int64(len(ids)+1) {
		t.Fatalf("manifest %+v, want %d duplicates", m, pages-1)
	}
}

// oddAnswerAPI bends the batch answer: edit sees each entry and returns the
// entries to hand over in its place.
type oddAnswerAPI struct {
	*acronis.Client
	edit func(acronis.TenantUsage) []acronis.TenantUsage
}

func (o *oddAnswerAPI) EachTenantUsage(ctx context.Context, ids []string, fn func(acronis.TenantUsage) error) error {
	return o.Client.EachTenantUsage(ctx, ids, func(tu acronis.TenantUsage) error {
		for _, e := range o.edit(tu) {
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
}

// An answer naming a tenant twice cannot be billed from: the run fails and
// says so. An entry for a tenant nobody asked about is left out.
func TestOddBatchAnswers(t *testing.T) {
	stranger := acronis.TenantUsage{Tenant: "99999999-9999-4999-8999-999999999999", Usages: []acronis.Usage{{Name: "x", Value: "1"}}}
	tests := []struct {
		name    string
		edit    func(acronis.TenantUsage) []acronis.TenantUsage
		wantErr string
	}{
		{"entry twice", func(tu acronis.TenantUsage) []acronis.TenantUsage { return []acronis.TenantUsage{tu, tu} }, "lists tenant"},
		{"entry not asked for", func(tu acronis.TenantUsage) []acronis.TenantUsage { return []acronis.TenantUsage{stranger, tu} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := acronistest.NewServer(t, acronistest.Config{Seed: 91})
			ids := sim.GenerateTree(2, 3, 1)
			c, _ := newClient(t, sim, 1000)
			st := &objstore.Dir{Root: t.TempDir()}
			res, err := (&usage.Job{API: &oddAnswerAPI{Client: c, edit: tt.edit}, Store: st}).Run(context.Background(), usage.Request{RootTenantID: sim.RootTenantID()})
			m, lines := readRun(t, st, res.Manifest)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || m.Complete {
					t.Fatalf("err %v, manifest complete %v", err, m.Complete)
				}
				return
			}
			if err != nil || !m.Complete {
				t.Fatalf("err %v, manifest %+v", err, m)
			}
			if want := expected(t, sim, allIDs(sim, ids)); !slices.Equal(lines, want) {
				t.Fatalf("%d lines, want %d", len(lines), len(want))
			}
		})
	}
}

// cuttingAPI cuts batch answers off after half their entries, as a dropped
// connection does mid-body: the first `cuts` sends of each batch.
type cuttingAPI struct {
	*acronis.Client
	cuts int
	mu   sync.Mutex
	sent map[string]int // by first tenant of the batch
}

func (c *cuttingAPI) EachTenantUsage(ctx context.Context, ids []string, fn func(acronis.TenantUsage) error) error {
	c.mu.Lock()
	c.sent[ids[0]]++
	cut := c.sent[ids[0]] <= c.cuts
	c.mu.Unlock()
	if !cut {
		return c.Client.EachTenantUsage(ctx, ids, fn)
	}
	var all []acronis.TenantUsage
	err := c.Client.EachTenantUsage(ctx, ids, func(tu acronis.TenantUsage) error {
		all = append(all, tu)
		return nil
	})
	if err != nil {
		return err
	}
	for _, tu := range all[:len(all)/2] {
		if err := fn(tu); err != nil {
			return err
		}
	}
	return fmt.Errorf("simulated: %w", acronis.ErrAnswerCut)
}

// A batch answer cut off mid-way is asked for again and its first half is
// not written twice; answers that keep being cut fail the run.
func TestCutBatchAnswers(t *testing.T) {
	tests := []struct {
		name     string
		cuts     int
		complete bool
	}{
		{"cut once, then whole", 1, true},
		{"cut twice, then whole", 2, true},
		{"cut every time", 99, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := acronistest.NewServer(t, acronistest.Config{Seed: 93})
			ids := sim.GenerateTree(3, 10, 4) // several batches of 100
			c, _ := newClient(t, sim, 1000)
			st := &objstore.Dir{Root: t.TempDir()}
			api := &cuttingAPI{Client: c, cuts: tt.cuts, sent: map[string]int{}}
			res, err := (&usage.Job{API: api, Store: st}).Run(context.Background(), usage.Request{RootTenantID: sim.RootTenantID()})
			m, lines := readRun(t, st, res.Manifest)
			if !tt.complete {
				if !errors.Is(err, acronis.ErrAnswerCut) || m.Complete {
					t.Fatalf("err %v, complete %v: want a failed run naming the cut", err, m.Complete)
				}
				return
			}
			if err != nil || !m.Complete {
				t.Fatalf("err %v, manifest %+v", err, m)
			}
			if want := expected(t, sim, allIDs(sim, ids)); !slices.Equal(lines, want) {
				t.Fatalf("%d lines, want %d", len(lines), len(want))
			}
			if len(api.sent) < 2 {
				t.Fatalf("%d batches: the test needs several", len(api.sent))
			}
			for first, n := range api.sent {
				if n != tt.cuts+1 {
					t.Fatalf("batch from %s sent %d times, want %d", first, n, tt.cuts+1)
				}
			}
		})
	}
}
