package audit

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
)

// taskLookback is how far back completed tasks are read: a protected
// resource with no success in it is reported as having none.
const taskLookback = 30 * 24 * time.Hour

// evidence is what alerts, tasks and agents say about the run's resources.
// Each endpoint is read in batches across all tenants; one that fails or
// answers badly is noted in problems and the audit goes on without it.
type evidence struct {
	tenants    map[string]tenantRef     // legacy id -> tenant
	known      map[string]bool          // resource ids the policy statuses listed
	alerts     map[string]acronis.Alert // resource id -> latest active alert
	tasks      map[string]*acronis.ResourceTasks
	alertsRead bool // every page read
	tasksRead  bool
	extra      []Finding // alerts for resources not found, offline agents
	problems   []string
	oldest     map[string]time.Time
	never      map[string]int

	alertCount, taskCount, agentCount int
}

type tenantRef struct{ uuid, name string }

func (a *AcronisSource) evidence(ctx context.Context, rules Rules, res []acronisResource, roots []string, now time.Time) *evidence {
	ev := &evidence{tenants: map[string]tenantRef{}, known: map[string]bool{}, alerts: map[string]acronis.Alert{},
		tasks: map[string]*acronis.ResourceTasks{}, oldest: map[string]time.Time{}, never: map[string]int{}}
	for _, r := range res {
		ev.tenants[string(r.item.Context.TenantID)] = tenantRef{uuid: r.tenantUUID, name: r.item.Context.TenantName}
		ev.known[r.item.Context.ID] = true
	}
	a.readAlerts(ctx, ev)
	a.readTasks(ctx, res, now, ev)
	a.readAgents(ctx, rules, roots, now, ev)
	return ev
}

func (ev *evidence) problem(format string, args ...any) {
	ev.problems = append(ev.problems, fmt.Sprintf(format, args...))
}

// readAlerts reads the active alerts of the run's tenants, asked for by the
// alert tenant id, which the alert document shows legacy numeric ("56").
func (a *AcronisSource) readAlerts(ctx context.Context, ev *evidence) {
	legacy := slices.Sorted(func(yield func(string) bool) {
		for id := range ev.tenants {
			if id != "" && !yield(id) {
				return
			}
		}
	})
	if len(legacy) == 0 {
		ev.alertsRead = true
		return
	}
	// Backup alerts only (the document's example: "category=Backup"): a
	// quota or licence alert is no backup's reason and would stand as an
	// alert without a resource run after run.
	for page, err := range a.Client.Alerts(ctx, acronis.AlertQuery{Tenants: legacy, Categories: []string{"Backup"}}) {
		if err != nil {
			ev.problem("alerts: %v (reasons from alerts are missing)", err)
			return
		}
		for _, al := range page.Items {
			ev.alertCount++
			ev.addAlert(al)
		}
	}
	ev.alertsRead = true
}

func (ev *evidence) addAlert(al acronis.Alert) {
	if al.Severity == "ok" || al.Severity == "information" {
		return // no failure's reason
	}
	if al.ResourceID == "" || !ev.known[al.ResourceID] {
		ev.extra = append(ev.extra, ev.orphanAlert(al))
		return
	}
	if cur, ok := ev.alerts[al.ResourceID]; !ok || al.CreatedAt.After(cur.CreatedAt) {
		ev.alerts[al.ResourceID] = al
	}
}

// orphanAlert reports an alert for a resource the policy statuses did not
// list (removed, or not visible): reported, never dropped.
func (ev *evidence) orphanAlert(al acronis.Alert) Finding {
	t := ev.tenants[al.Tenant.ID]
	f := Finding{Provider: Acronis, Severity: Warning, Rule: RuleAlertOrphan, Customer: cmp.Or(t.name, "tenant "+al.Tenant.ID),
		TenantID: t.uuid, TenantLegacyID: al.Tenant.ID, Resource: cmp.Or(al.ResourceName, "(no resource named)"), ResourceID: al.ResourceID,
		Policy: al.PlanName, PolicyID: al.PlanID,
		Message: fmt.Sprintf("active %s alert (%s) for a resource the audit did not find among the tenant's resources", al.Type, al.Severity)}
	f.Reason, f.ReasonSource, f.ReasonID, f.ReasonAt = cmp.Or(al.Message, "(alert without text)"), "alert", al.ID, al.CreatedAt
	f.Key = key(Acronis, cmp.Or(t.uuid, "legacy:"+al.Tenant.ID), al.ResourceID, al.ID, RuleAlertOrphan)
	return f
}

// readTasks reads the completed tasks of the protected resources, in
// batches of resource ids, and keeps per resource the last success and the
// failures since.
func (a *AcronisSource) readTasks(ctx context.Context, res []acronisResource, now time.Time, ev *evidence) {
	var ids []string
	for _, r := range res {
		if protected(r.item) {
			ids = append(ids, r.item.Context.ID)
		}
	}
	if len(ids) == 0 {
		ev.tasksRead = true
		return
	}
	var all []acronis.Task
	for page, err := range a.Client.Tasks(ctx, acronis.TaskQuery{ResourceIDs: ids, CompletedSince: now.Add(-taskLookback)}) {
		if err != nil {
			ev.problem("tasks: %v (last successful backups and failed tasks are missing)", err)
			return
		}
		all = append(all, page.Items...)
	}
	ev.taskCount = len(all)
	ev.tasks = acronis.Summarize(all)
	ev.tasksRead = true
}

// readAgents reads every agent under the run's roots in one paged walk each
// and reports those offline longer than the threshold, or offline with no
// last-seen time (which the platform does not always give).
func (a *AcronisSource) readAgents(ctx context.Context, rules Rules, roots []string, now time.Time, ev *evidence) {
	for _, root := range roots {
		for page, err := range a.Client.Agents(ctx, acronis.AgentQuery{SubtreeRoot: root}) {
			if err != nil {
				ev.problem("agents under %s: %v (offline agents may be missing)", root, err)
				break
			}
			for _, ag := range page {
				ev.agentCount++
				if f, ok := rules.offlineAgent(ag, ev.tenants[ag.TenantID], now); ok {
					ev.extra = append(ev.extra, f)
				}
			}
		}
	}
}

func (r Rules) offlineAgent(ag acronis.Agent, t tenantRef, now time.Time) (Finding, bool) {
	if ag.Online {
		return Finding{}, false
	}
	f := Finding{Provider: Acronis, Rule: RuleAgentOffline, Customer: cmp.Or(t.name, ag.TenantName), TenantID: t.uuid,
		TenantLegacyID: ag.TenantID, Resource: cmp.Or(ag.Hostname, ag.Name) + " (agent)", ResourceID: ag.ID}
	f.Key = key(Acronis, cmp.Or(t.uuid, "legacy:"+ag.TenantID), ag.ID, "", RuleAgentOffline)
	switch {
	case ag.LastSeen == nil:
		f.Severity, f.Message = Unknown, "agent offline; the platform gives no last-seen time, so for how long is unknown"
	case now.Sub(*ag.LastSeen).Hours() > r.AgentOfflineHours:
		f.Severity = Warning
		f.Message = fmt.Sprintf("agent offline since %s (%.0f h, limit %.0f h): its machines are not backed up",
			ag.LastSeen.UTC().Format("2006-01-02 15:04 UTC"), now.Sub(*ag.LastSeen).Hours(), r.AgentOfflineHours)
	default:
		return Finding{}, false
	}
	return f, true
}

// protected: the resource has a plan that is not reported not_protected.
func protected(it acronis.PolicyStatusItem) bool {
	return slices.ContainsFunc(it.Policies, func(p acronis.PolicyState) bool { return !strings.EqualFold(p.Status, "not_protected") })
}

// judgeAcronis applies the rules to every resource and adds what the
// evidence says: why it fails, its last good backup, and whether that is
// too long ago.
func judgeAcronis(rules Rules, res []acronisResource, ev *evidence, now time.Time) []Finding {
	var out []Finding
	for _, r := range res {
		fs := rules.AcronisResource(r.item, r.tenantUUID, now)
		rt := ev.tasks[r.item.Context.ID]
		last := lastSuccess(r.item, rt)
		if protected(r.item) && ev.tasksRead {
			fs = append(fs, rules.staleBackup(r, last, now)...)
			ev.noteOldest(cmp.Or(r.tenantUUID, r.item.Context.TenantName), last)
		}
		al, hasAlert := ev.alerts[r.item.Context.ID]
		for i := range fs {
			fs[i].LastSuccess = last
			ev.explain(&fs[i], al, hasAlert, rt)
		}
		out = append(out, fs...)
	}
	return append(out, ev.extra...)
}

// lastSuccess is the newest of the last successful task and the policies'
// last_success_time.
func lastSuccess(it acronis.PolicyStatusItem, rt *acronis.ResourceTasks) time.Time {
	var last time.Time
	if rt != nil && rt.LastSuccess != nil && rt.LastSuccess.CompletedAt != nil {
		last = *rt.LastSuccess.CompletedAt
	}
	for _, p := range it.Policies {
		if t, err := acronis.ParseStamp(p.LastSuccessTime); err == nil && t.After(last) {
			last = t
		}
	}
	return last
}

// staleBackup: warning after MaxHoursWithoutSuccess, critical after twice
// that or with no success in the lookback, whatever the policy status says.
func (r Rules) staleBackup(res acronisResource, last, now time.Time) []Finding {
	f := acronisBase(res.item, res.tenantUUID)
	f.Rule = RuleStaleBackup
	f.Key = key(Acronis, cmp.Or(res.tenantUUID, "legacy:"+f.TenantLegacyID), f.ResourceID, "", RuleStaleBackup)
	age := now.Sub(last).Hours()
	switch {
	case last.IsZero():
		f.Severity, f.Message = Critical, fmt.Sprintf("no successful backup in the last %d days", int(taskLookback.Hours()/24))
	case age > 2*r.MaxHoursWithoutSuccess:
		f.Severity = Critical
	case age > r.MaxHoursWithoutSuccess:
		f.Severity = Warning
	default:
		return nil
	}
	if f.Message == "" {
		f.Message = fmt.Sprintf("last successful backup %s, %.0f h ago (warning after %.0f h, critical after %.0f h)",
			last.UTC().Format("2006-01-02 15:04 UTC"), age, r.MaxHoursWithoutSuccess, 2*r.MaxHoursWithoutSuccess)
	}
	return []Finding{f}
}

func (ev *evidence) noteOldest(tenant string, last time.Time) {
	if last.IsZero() {
		ev.never[tenant]++
		return
	}
	if cur, ok := ev.oldest[tenant]; !ok || last.Before(cur) {
		ev.oldest[tenant] = last
	}
}

// explain gives a failing finding the platform's reason: the latest active
// alert, else the last failed task; a failing resource with neither says so.
func (ev *evidence) explain(f *Finding, al acronis.Alert, hasAlert bool, rt *acronis.ResourceTasks) {
	if f.Severity != Critical && f.Severity != Warning || f.Rule == RuleNoProtection {
		return
	}
	switch {
	case hasAlert:
		f.Reason, f.ReasonSource, f.ReasonID, f.ReasonAt = cmp.Or(al.Message, "(alert "+al.Type+" without text)"), "alert", al.ID, al.CreatedAt
	case rt != nil && len(rt.Failures) > 0:
		t := rt.Failures[0]
		f.Reason, f.ReasonSource, f.ReasonID = "task result "+t.ResultCode, "task", cmp.Or(t.UUID, fmt.Sprint(t.ID))
		if t.Error != nil {
			f.Reason = t.Error.Error()
		}
		if t.CompletedAt != nil {
			f.ReasonAt = *t.CompletedAt
		}
	case ev.alertsRead && ev.tasksRead:
		f.Reason, f.ReasonSource = "the platform gives no active alert and no failed task for this resource", "none"
	default:
		f.Reason, f.ReasonSource = "unknown: alerts or tasks could not be read this run (see the summary's problems)", "none"
	}
}
