// Command measure reports each function's binary size (linux/arm64, the
// deployed build, and linux/amd64) and its init time: from process start to
// the bootstrap's first call for work on the Lambda Runtime API, served here
// by a stand-in. Run with `make measure`.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

func main() {
	runs := flag.Int("runs", 15, "starts per function (the median is reported)")
	flag.Parse()
	dirs, _ := filepath.Glob("functions/*/main.go")
	tmp, err := os.MkdirTemp("", "measure")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(tmp)
	fmt.Printf("| function | size linux/arm64 | size linux/%s | init time (median of %d, %s) |\n|---|---|---|---|\n", runtime.GOARCH, *runs, runtime.GOARCH)
	for _, d := range dirs {
		name := filepath.Base(filepath.Dir(d))
		sizes := map[string]int64{}
		for _, arch := range []string{"arm64", runtime.GOARCH} {
			out := filepath.Join(tmp, name+"-"+arch)
			cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w", "-o", out, "./functions/"+name)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				fail(fmt.Errorf("build %s/%s: %w", name, arch, err))
			}
			st, _ := os.Stat(out)
			sizes[arch] = st.Size()
		}
		var times []time.Duration
		for range *runs {
			d, err := initTime(filepath.Join(tmp, name+"-"+runtime.GOARCH))
			if err != nil {
				fail(fmt.Errorf("%s: %w", name, err))
			}
			times = append(times, d)
		}
		slices.Sort(times)
		fmt.Printf("| %s | %.1f MiB | %.1f MiB | %.1f ms |\n", name, mib(sizes["arm64"]), mib(sizes[runtime.GOARCH]),
			float64(times[len(times)/2].Microseconds())/1000)
	}
}

// initTime starts bin against a stand-in Runtime API and returns the time
// until it asks for its first invocation, which it does once main has built
// its handler (AWS config, clients, environment checks).
func initTime(bin string) (time.Duration, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	ready := make(chan time.Time, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/runtime/invocation/next") {
			select {
			case ready <- time.Now():
			default:
			}
			<-r.Context().Done() // hold the long poll; the process is killed next
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})}
	go srv.Serve(l)
	defer srv.Close()
	cmd := exec.Command(bin)
	cmd.Env = []string{
		"AWS_LAMBDA_RUNTIME_API=" + l.Addr().String(), "AWS_REGION=eu-central-1",
		"AWS_ACCESS_KEY_ID=measure", "AWS_SECRET_ACCESS_KEY=measure",
		"AWS_LAMBDA_FUNCTION_NAME=measure", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_LAMBDA_LOG_FORMAT=JSON",
		"ACRONIS_CLIENT_SECRET_ID=client", "ACRONIS_TOKEN_SECRET_ID=token", "TOKEN_REFRESH_FUNCTION=token-refresh",
		"DATA_BUCKET=bucket", "WEBHOOK_SECRET_ID=webhook", "HUAWEI_CBR_SECRET_ID=", "AUDIT_TOPIC_ARN=arn:aws:sns:eu-central-1:000000000000:t",
		"PATH=/usr/bin:/bin",
	}
	cmd.Stdout, cmd.Stderr = nil, nil
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	select {
	case at := <-ready:
		return at.Sub(start), nil
	case <-time.After(10 * time.Second):
		return 0, fmt.Errorf("no call to the Runtime API within 10s")
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "measure:", err)
	os.Exit(1)
}
