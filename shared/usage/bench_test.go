package usage_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/objstore"
	"github.com/acp-serverless/acp-serverless/shared/throttle"
	"github.com/acp-serverless/acp-serverless/shared/usage"
)

// The setting: 20 ms per request, a server limit of 50 requests per
// second (burst 1), trees of three levels below the root.
var benchFaults = acronistest.Faults{Latency: 20 * time.Millisecond, RateLimit: 50}

const (
	benchServerRPS = 50.0
	// The client paces itself just under the server's limit, as
	// ACRONIS_MAX_RPS=48 would in the function.
	benchClientRPS = 48.0
	benchPageCap   = 500 // the simulator's default page cap
	heapSpan       = 5 * time.Second
)

type benchTree struct {
	name                       string
	partners, customers, units int
}

// 10*(1+11*9) = 1,000 and 10*(1+111*9) = 10,000 tenants, plus the root.
var (
	tree1k  = benchTree{"tenants=1000", 10, 11, 8}
	tree10k = benchTree{"tenants=10000", 10, 111, 8}
)

// Figures shared between sub-benchmarks of one run, for the ratios.
var benchResults struct {
	sync.Mutex
	wall  map[string]time.Duration
	floor map[string]time.Duration
	peak  map[string]float64
	live  map[string]float64
}

func record(name string, wall, floor time.Duration, peakMiB, liveMiB float64) {
	benchResults.Lock()
	defer benchResults.Unlock()
	if benchResults.wall == nil {
		benchResults.wall, benchResults.floor = map[string]time.Duration{}, map[string]time.Duration{}
		benchResults.peak, benchResults.live = map[string]float64{}, map[string]float64{}
	}
	benchResults.wall[name], benchResults.floor[name] = wall, floor
	benchResults.peak[name], benchResults.live[name] = peakMiB, liveMiB
}

// heapSampler records, every millisecond via runtime/metrics (no
// stop-the-world), the peak of HeapInuse (objects + unused heap spans:
// garbage included, so it also depends on when GC ran) and the peak of the
// live heap as marked by each GC (what the job actually holds).
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak uint64
	live uint64
	base uint64
}

func readHeap(s []metrics.Sample) (inuse, live uint64) {
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64(), s[2].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}, {Name: "/gc/heap/live:bytes"}}
	runtime.GC()
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	h.base, _ = readHeap(s)
	h.peak = h.base
	go func() {
		defer close(h.done)
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-tk.C:
				inuse, live := readHeap(s)
				h.peak, h.live = max(h.peak, inuse), max(h.live, live)
			}
		}
	}()
	return h
}

func (h *heapSampler) finish() (peakMiB, growthMiB, liveMiB float64) {
	close(h.stop)
	<-h.done
	return float64(h.peak) / (1 << 20), float64(h.peak-h.base) / (1 << 20), float64(h.live) / (1 << 20)
}

// floorFor is the least time the server's limit allows the job: one token
// request, every list page and every 100-tenant batch, at 50 per second.
func floorFor(tenants int) (requests int, d time.Duration) {
	requests = 1 + (tenants+benchPageCap-1)/benchPageCap + (tenants+acronis.MaxBatch-1)/acronis.MaxBatch
	return requests, time.Duration(float64(requests) / benchServerRPS * float64(time.Second))
}

const simProcEnv = "USAGE_BENCH_SIM"

type simProc struct {
	URL, ClientID, Secret, Root string
	Tenants                     int
}

// serveSimProcess is the child: it builds the tree, prints where it listens
// and serves until its stdin closes.
func serveSimProcess(tree string) {
	var p, c, u int
	if _, err := fmt.Sscanf(tree, "%d,%d,%d", &p, &c, &u); err != nil {
		fmt.Fprintln(os.Stderr, "bad", simProcEnv, err)
		os.Exit(2)
	}
	sim := acronistest.New(acronistest.Config{Seed: 7, SkipContract: true}) // figures about the client, not the checker
	sim.Start()
	ids := sim.GenerateTree(p, c, u)
	id, secret := sim.AddAPIClient("")
	sim.SetFaults(benchFaults)
	_ = json.NewEncoder(os.Stdout).Encode(simProc{URL: sim.URL(), ClientID: id, Secret: secret, Root: sim.RootTenantID(), Tenants: len(ids) + 1})
	_, _ = io.Copy(io.Discard, os.Stdin)
	sim.Close()
	os.Exit(0)
}

// benchSim starts a simulator process with the tree and the benchmark's faults.
func benchSim(b *testing.B, tr benchTree) simProc {
	cmd := exec.Command(os.Args[0])
	// The simulator stands in for Acronis: its own GC pauses are not the job's,
	// and with a limiter of burst 1 they would turn into 429s.
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d,%d,%d", simProcEnv, tr.partners, tr.customers, tr.units), "GOGC=400")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	var sp simProc
	if err := json.NewDecoder(bufio.NewReader(stdout)).Decode(&sp); err != nil {
		b.Fatalf("simulator process: %v", err)
	}
	return sp
}

func benchClient(b *testing.B, sp simProc, base http.RoundTripper) *acronis.Client {
	hc := acronis.NewHTTPClient(acronis.HTTPOptions{Base: base})
	src := acronis.NewCachedSource(&acronis.ClientCredentials{Creds: acronis.Credentials{BaseURL: sp.URL, ClientID: sp.ClientID, ClientSecret: sp.Secret}, HTTP: hc}, 0)
	c, err := acronis.NewClient(sp.URL, src, hc)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// counting counts the requests that reach the wire (retries included).
type counting struct {
	next      http.RoundTripper
	n         atomic.Int64
	mu        sync.Mutex
	throttled []string // which requests met a 429, for the log
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	n := c.n.Add(1)
	resp, err := c.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		c.mu.Lock()
		c.throttled = append(c.throttled, fmt.Sprintf("#%d %s", n, r.URL.Path))
		c.mu.Unlock()
	}
	return resp, err
}

func benchmarkSnapshot(b *testing.B, tr benchTree) {
	sp := benchSim(b, tr)
	tenants := sp.Tenants
	// The function's own wiring: one pace for every request of the run, on
	// the default transport, with the default number of workers.
	pace := throttle.New(nil, benchClientRPS, 1)
	wire := &counting{next: pace}
	st := &objstore.Dir{Root: b.TempDir()}
	requests, floor := floorFor(tenants)
	b.ResetTimer()
	for range b.N {
		wire.n.Store(0)
		throttled := len(wire.throttled) // pace passes every 429 it counts through
		// The heap in use peaks just before a GC cycle, at twice what the
		// previous cycle found live, so a peak is the largest of many draws
		// and a short run, seeing fewer cycles, tends to report less. Each
		// tree is run until heapSpan has passed (two runs at 10,000 tenants,
		// about sixteen at 1,000): both peaks are maxima over as many cycles.
		h := startHeapSampler()
		var wall time.Duration
		runs := 0
		for runs == 0 || wall < heapSpan {
			// A new client each run: every run gets its own token, as the
			// floor counts.
			job := &usage.Job{API: benchClient(b, sp, wire), Store: st}
			start := time.Now()
			res, err := job.Run(context.Background(), usage.Request{RootTenantID: sp.Root})
			wall += time.Since(start)
			runs++
			if err != nil {
				b.Fatal(err)
			}
			if res.Tenants != int64(tenants) {
				b.Fatalf("%d tenants, want %d", res.Tenants, tenants)
			}
		}
		peak, growth, live := h.finish()
		if len(wire.throttled) > 0 {
			b.Logf("429 answers: %v", wire.throttled)
		}
		perRun := wall / time.Duration(runs)
		b.ReportMetric(float64(runs), "runs")
		b.ReportMetric(perRun.Seconds(), "wall-s")
		b.ReportMetric(float64(perRun)/float64(floor), "x-floor")
		b.ReportMetric(float64(requests), "floor-requests")
		b.ReportMetric(float64(wire.n.Load())/float64(runs), "requests")
		b.ReportMetric(float64(len(wire.throttled)-throttled), "429s")
		b.ReportMetric(peak, "peak-heap-MiB")
		b.ReportMetric(live, "peak-live-heap-MiB")
		b.ReportMetric(growth, "heap-growth-MiB")
		record(tr.name, perRun, floor, peak, live)
	}
}

// BenchmarkSnapshot measures the job at 1,000 and 10,000 tenants, then the
// seed's approach (one GET /tenants/{id}/usages after another) at 10,000,
// then the ratios between them. Run with -benchtime 1x (make bench): the
// baseline alone takes about 200 s.
func BenchmarkSnapshot(b *testing.B) {
	b.Run(tree1k.name, func(b *testing.B) { benchmarkSnapshot(b, tree1k) })
	b.Run(tree10k.name, func(b *testing.B) { benchmarkSnapshot(b, tree10k) })
	b.Run("sequential-per-tenant/"+tree10k.name, func(b *testing.B) { benchmarkSequential(b, tree10k) })
	b.Run("ratios", func(b *testing.B) {
		benchResults.Lock()
		defer benchResults.Unlock()
		snap, ok1 := benchResults.wall[tree10k.name]
		seq, ok2 := benchResults.wall["sequential"]
		small, ok3 := benchResults.peak[tree1k.name]
		if !ok1 || !ok2 || !ok3 {
			b.Skip("run the whole BenchmarkSnapshot for the ratios")
		}
		for range b.N {
			b.ReportMetric(float64(seq)/float64(snap), "x-faster-than-sequential")
			b.ReportMetric(float64(snap)/float64(benchResults.floor[tree10k.name]), "x-floor-10k")
			b.ReportMetric(benchResults.peak[tree10k.name]/small, "peak-heap-10k/1k")
			b.ReportMetric(benchResults.live[tree10k.name]/benchResults.live[tree1k.name], "peak-live-heap-10k/1k")
		}
	})
}

// benchmarkSequential is the seed's way: list the tenants, then ask for each
// tenant's usage in turn, with the plain client (retries, no pacing needed).
func benchmarkSequential(b *testing.B, tr benchTree) {
	sp := benchSim(b, tr)
	tenants := sp.Tenants
	c := benchClient(b, sp, nil)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		items, n := 0, 0
		for page, err := range c.ListTenants(ctx, acronis.TenantFilter{SubtreeRootID: sp.Root}) {
			if err != nil {
				b.Fatal(err)
			}
			for _, t := range page {
				us, err := c.TenantUsages(ctx, t.ID)
				if err != nil {
					b.Fatal(err)
				}
				items += len(us)
				n++
			}
		}
		wall := time.Since(start)
		if n != tenants || items == 0 {
			b.Fatalf("%d tenants, %d items", n, items)
		}
		b.ReportMetric(wall.Seconds(), "wall-s")
		record("sequential", wall, 0, 0, 0)
	}
}
