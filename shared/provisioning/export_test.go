package provisioning

import (
	"context"
	"time"
)

// LeaseUntilForTest exposes the lease end a run would take.
func LeaseUntilForTest(p *Provisioner, ctx context.Context) time.Time { return p.leaseUntil(ctx) }
