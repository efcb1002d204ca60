// Command measure reports each function's binary size (linux/arm64, the
// deployed build, and linux/amd64) and its init time: from process start to
// the bootstrap's first call for work on the Lambda Runtime API, served here
// by a stand-in. Run with `make measure`.
//
// With -programs dir1,dir2 it measures small programs instead (each its own
// module, built with GOFLAGS=-mod=mod; scripts/measure/cbrcompare): their init
// time runs to their first request to a stand-in CBR endpoint, given to them
// in CBR_ENDPOINT. This compared the official Huawei SDK with our CBR client.
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

// target is one program to build and start.
type target struct {
	name, dir, pkg string
	env            []string                    // besides the stand-in's address
	addrEnv        func(addr string) string    // how the program learns the address
	ready          func(r *http.Request) bool  // the request that marks it ready
	answer         func(w http.ResponseWriter) // what the stand-in answers
}

func main() {
	runs := flag.Int("runs", 15, "starts per program (the median is reported)")
	programs := flag.String("programs", "", "comma-separated module dirs (each its own module) to measure instead of the functions")
	flag.Parse()
	var targets []target
	if *programs != "" {
		for _, d := range strings.Split(*programs, ",") {
			targets = append(targets, cbrProgram(d))
		}
	} else {
		dirs, _ := filepath.Glob("functions/*/main.go")
		for _, d := range dirs {
			targets = append(targets, lambdaFunction(filepath.Base(filepath.Dir(d))))
		}
	}
	tmp, err := os.MkdirTemp("", "measure")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(tmp)
	fmt.Printf("| program | size linux/arm64 | size linux/%s | init time (median of %d, %s) |\n|---|---|---|---|\n", runtime.GOARCH, *runs, runtime.GOARCH)
	for _, t := range targets {
		if err := measure(t, tmp, *runs); err != nil {
			fail(fmt.Errorf("%s: %w", t.name, err))
		}
	}
}

func lambdaFunction(name string) target {
	return target{name: name, dir: ".", pkg: "./functions/" + name, env: []string{
		"AWS_REGION=eu-central-1", "AWS_ACCESS_KEY_ID=measure", "AWS_SECRET_ACCESS_KEY=measure",
		"AWS_LAMBDA_FUNCTION_NAME=measure", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_LAMBDA_LOG_FORMAT=JSON",
		"ACRONIS_CLIENT_SECRET_ID=client", "ACRONIS_TOKEN_SECRET_ID=token", "TOKEN_REFRESH_FUNCTION=token-refresh",
		"DATA_BUCKET=bucket", "WEBHOOK_SECRET_ID=webhook", "HUAWEI_CBR_SECRET_ID=", "AUDIT_TOPIC_ARN=arn:aws:sns:eu-central-1:000000000000:t",
	},
		addrEnv: func(addr string) string { return "AWS_LAMBDA_RUNTIME_API=" + addr },
		// The bootstrap asks for work once main has built its handler.
		ready: func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/runtime/invocation/next") },
	}
}

func cbrProgram(dir string) target {
	return target{name: filepath.Base(dir), dir: dir, pkg: ".",
		env:     []string{"GOFLAGS=-mod=mod", "CBR_PROJECT=0a1b2c3d4e5f60718293a4b5c6d7e8f9", "CBR_AK=AKMEASURE", "CBR_SK=SKMEASURE"},
		addrEnv: func(addr string) string { return "CBR_ENDPOINT=http://" + addr },
		ready:   func(r *http.Request) bool { return true },
		answer: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"policies":[],"count":0}`))
		},
	}
}

func measure(t target, tmp string, runs int) error {
	sizes := map[string]int64{}
	for _, arch := range []string{"arm64", runtime.GOARCH} {
		out := filepath.Join(tmp, t.name+"-"+arch)
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w", "-o", out, t.pkg)
		cmd.Dir = t.dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if t.dir != "." {
			cmd.Env = append(cmd.Env, "GOFLAGS=-mod=mod")
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", arch, err)
		}
		st, err := os.Stat(out)
		if err != nil {
			return err
		}
		sizes[arch] = st.Size()
	}
	var times []time.Duration
	for range runs {
		d, err := initTime(filepath.Join(tmp, t.name+"-"+runtime.GOARCH), t)
		if err != nil {
			return err
		}
		times = append(times, d)
	}
	slices.Sort(times)
	fmt.Printf("| %s | %.1f MiB | %.1f MiB | %.1f ms |\n", t.name, mib(sizes["arm64"]), mib(sizes[runtime.GOARCH]),
		float64(times[len(times)/2].Microseconds())/1000)
	return nil
}

// initTime starts bin against a stand-in server and returns the time until
// the request that t.ready recognises.
func initTime(bin string, t target) (time.Duration, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	ready := make(chan time.Time, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t.ready(r) {
			select {
			case ready <- time.Now():
			default:
			}
			if t.answer == nil {
				<-r.Context().Done() // hold the long poll; the process is killed next
				return
			}
		}
		if t.answer != nil {
			t.answer(w)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})}
	go srv.Serve(l)
	defer srv.Close()
	cmd := exec.Command(bin)
	cmd.Env = append([]string{t.addrEnv(l.Addr().String()), "PATH=/usr/bin:/bin"}, t.env...)
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
		return 0, fmt.Errorf("no request to the stand-in within 10s")
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "measure:", err)
	os.Exit(1)
}
