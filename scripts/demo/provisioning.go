package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/acronis/acronistest"
	"github.com/acp-serverless/acp-serverless/shared/provisioning"
	"github.com/acp-serverless/acp-serverless/shared/webhook"
)

// chanQueue stands in for SQS.
type chanQueue struct{ ch chan []byte }

func (q chanQueue) Enqueue(_ context.Context, _ webhook.Event, body []byte) error {
	q.ch <- body
	return nil
}

// runProvisioning signs events/provisioning-created.json as the CRM would,
// posts it to the webhook intake twice (the second is refused as a replay),
// and lets the worker provision the customer from the queue.
func runProvisioning(ctx context.Context, d *demo) (any, error) {
	body, err := os.ReadFile(repoFile("events/provisioning-created.json"))
	if err != nil {
		return nil, err
	}
	key := []byte("demo-webhook-signing-key-0123456789")
	parent := d.sim.AddTenant(acronistest.TenantSpec{Name: "MSP Partner (CRM customers)", Kind: acronis.KindPartner})
	store := &provisioning.Memory{}
	queue := chanQueue{make(chan []byte, 4)}
	intake := &provisioning.Intake{Key: func(context.Context) ([]byte, error) { return key, nil }, Store: store, Queue: queue, Log: d.log}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	headers := func(name string) string {
		return map[string]string{"X-Timestamp": ts, "X-Signature": webhook.Sign(key, ts, body)}[name]
	}
	first := intake.Accept(ctx, headers, body)
	replay := intake.Accept(ctx, headers, body)
	p := &provisioning.Provisioner{API: d.client, Store: store, Config: provisioning.Config{ParentTenantID: parent}, Log: d.log}
	ev, err := webhook.ParseEvent(<-queue.ch)
	if err != nil {
		return nil, err
	}
	res, err := p.Handle(ctx, ev)
	if err != nil {
		return nil, err
	}
	return map[string]any{"webhook": fmt.Sprintf("%d %s", first.Status, first.Body), "replay": fmt.Sprintf("%d %s", replay.Status, replay.Body), "provisioned": res}, nil
}

// repoFile finds a file of the repository from wherever the demo runs (the
// root with make demo, scripts/demo in its test): the nearest folder up with go.mod.
func repoFile(rel string) string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, rel)
		}
		if filepath.Dir(d) == d {
			return rel
		}
	}
}
