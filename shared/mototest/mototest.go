// Package mototest runs moto_server (Python moto 5) for tests of the AWS
// side: the real SDK clients talk to it through BaseEndpoint. One server per
// test binary, started from TestMain and stopped when the tests end.
package mototest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Server is a running moto_server.
type Server struct {
	Endpoint string
	cmd      *exec.Cmd
	// admin holds the credentials of an IAM user allowed everything, when
	// the server enforces IAM (StartIAM); nil otherwise.
	admin *aws.Credentials
}

// Start launches moto_server on a free loopback port and waits until it answers.
func Start() (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("mototest: moto_server not found on PATH (install Python moto[server] 5): %w", err)
	}
	return start([]string{bin}, nil)
}

// start runs argv plus host and port arguments with env added to ours.
func start(argv, env []string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mototest: pick a port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(argv[0], append(argv[1:], "-H", "127.0.0.1", "-p", strconv.Itoa(port))...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if os.Getenv("MOTO_VERBOSE") != "" {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("mototest: start moto_server: %w", err)
	}
	s := &Server{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.Endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("mototest: moto_server did not answer on %s within 30s", s.Endpoint)
}

// Stop ends moto_server and its children.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		}
	}
}

// Reset clears all of moto's state.
func (s *Server) Reset(ctx context.Context) error {
	if s.admin != nil {
		return fmt.Errorf("mototest: reset: the server enforces IAM and a reset would delete its admin user")
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", s.Endpoint+"/moto-api/reset", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("mototest: reset: %w", err)
	}
	resp.Body.Close()
	return nil
}

// Config is an SDK configuration aimed at the server, with dummy
// credentials, or the admin user's when the server enforces IAM.
func (s *Server) Config() aws.Config {
	creds := credentials.NewStaticCredentialsProvider("testing", "testing", "")
	if s.admin != nil {
		creds = credentials.NewStaticCredentialsProvider(s.admin.AccessKeyID, s.admin.SecretAccessKey, "")
	}
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  creds,
		BaseEndpoint: aws.String(s.Endpoint),
	}
}

// Atomic returns cfg with its requests sent to moto one at a time.
// DynamoDB applies a conditional write atomically; moto checks the condition
// and writes in separate steps on separate threads, so two concurrent
// conditional writes to the same new item can both succeed there (seen as
// two holders of one lease). Tests whose code relies on that atomicity use
// this, and get DynamoDB's guarantee back.
func Atomic(cfg aws.Config) aws.Config {
	next := cfg.HTTPClient
	if next == nil {
		next = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = &oneAtATime{next: next}
	return cfg
}

type oneAtATime struct {
	mu   sync.Mutex
	next aws.HTTPClient
}

// Do holds the lock until the answer has been read: moto has done its work
// by then.
func (o *oneAtATime) Do(r *http.Request) (*http.Response, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	resp, err := o.next.Do(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

var current atomic.Pointer[Server]

// Main starts moto_server for a test binary, runs the tests and stops it.
// Use from TestMain: func TestMain(m *testing.M) { mototest.Main(m) }.
func Main(m *testing.M) { run(m, Start) }

// MainIAM is Main with a server that enforces IAM (see StartIAM): tests run
// functions under their template roles (FunctionRole).
func MainIAM(m *testing.M) { run(m, StartIAM) }

func run(m *testing.M, startServer func() (*Server, error)) {
	s, err := startServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	current.Store(s)
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

// Get returns the server Main started (tests fail if there is none).
func Get(t testing.TB) *Server {
	t.Helper()
	s := current.Load()
	if s == nil {
		t.Fatal("mototest: no moto_server; call mototest.Main from TestMain")
	}
	return s
}

var seq atomic.Int64

// Name returns a name unique within the test binary (buckets, secrets), so
// tests share one server without stepping on each other.
func Name(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), seq.Add(1))
}
