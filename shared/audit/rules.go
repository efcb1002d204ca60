// Package audit is the policy-status audit: it collects Acronis policy
// execution statuses and Huawei CBR policy definitions and delivery states,
// judges them against a configurable rule set, and writes findings, a
// summary and a self-contained HTML report.
package audit

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/huaweicbr"
)

// Severities, worst first.
const (
	Critical = "critical"
	Warning  = "warning"
	Unknown  = "unknown" // a status the rules do not know: reported, never dropped
	Info     = "info"
)

// SeverityRank orders severities, worst first.
func SeverityRank(s string) int {
	switch s {
	case Critical:
		return 0
	case Warning:
		return 1
	case Unknown:
		return 2
	}
	return 3
}

// Providers.
const (
	Acronis   = "acronis"
	HuaweiCBR = "huaweicbr"
)

// Rule names (stable: they are part of finding keys).
const (
	RuleStatus        = "policy_status"
	RuleUnknownStatus = "unknown_status"
	RuleStale         = "no_recent_run"
	RuleNextRunPast   = "next_run_in_past"
	RuleNoProtection  = "no_protection"
	RuleDisabled      = "policy_disabled"
	RuleInterval      = "backup_interval"
	RuleRetention     = "retention"
	RuleDelivery      = "org_policy_not_delivered"
	RuleSchedule      = "schedule_unreadable"
	RuleStaleBackup   = "stale_backup"
	RuleAgentOffline  = "agent_offline"
	RuleAlertOrphan   = "alert_without_resource"
)

// Rules holds the deployment's thresholds.
type Rules struct {
	MaxHoursWithoutRun float64       // default 36
	MaxIntervalHours   float64       // default 24
	MinRetentionDays   int           // default 35
	NextRunGrace       time.Duration // default 1h: a run this late is "in the past"
	// MaxHoursWithoutSuccess: a protected resource whose last successful
	// backup is older is a warning, twice as old critical (default 24).
	MaxHoursWithoutSuccess float64
	AgentOfflineHours      float64 // default 24: an agent offline longer is a finding
}

// WithDefaults fills unset thresholds.
func (r Rules) WithDefaults() Rules {
	if r.MaxHoursWithoutRun <= 0 {
		r.MaxHoursWithoutRun = 36
	}
	if r.MaxIntervalHours <= 0 {
		r.MaxIntervalHours = 24
	}
	if r.MinRetentionDays <= 0 {
		r.MinRetentionDays = 35
	}
	if r.NextRunGrace <= 0 {
		r.NextRunGrace = time.Hour
	}
	if r.MaxHoursWithoutSuccess <= 0 {
		r.MaxHoursWithoutSuccess = 24
	}
	if r.AgentOfflineHours <= 0 {
		r.AgentOfflineHours = 24
	}
	return r
}

// Finding is one thing wrong. Key is stable across runs, so "new since the
// previous run" is a set difference.
type Finding struct {
	Key            string `json:"key"`
	Provider       string `json:"provider"`
	Severity       string `json:"severity"`
	Rule           string `json:"rule"`
	Customer       string `json:"customer"` // tenant name, or CBR account/project
	TenantID       string `json:"tenant_id,omitempty"`
	TenantLegacyID string `json:"tenant_legacy_id,omitempty"`
	Resource       string `json:"resource,omitempty"`
	ResourceID     string `json:"resource_id,omitempty"`
	Policy         string `json:"policy,omitempty"`
	PolicyID       string `json:"policy_id,omitempty"`
	Message        string `json:"message"`
	New            bool   `json:"new"`
	// FirstSeen is when the finding's key first appeared, carried from run
	// to run through the baseline (zero when the baseline was unreadable).
	FirstSeen time.Time `json:"first_seen,omitzero"`
	// Why, in the platform's words: the latest active alert for the
	// resource, else its last failed backup task ("none" when the platform
	// gave neither for a failing resource).
	Reason       string    `json:"reason,omitempty"`
	ReasonSource string    `json:"reason_source,omitempty"` // alert, task, none
	ReasonID     string    `json:"reason_id,omitempty"`     // alert id or task uuid/id
	ReasonAt     time.Time `json:"reason_at,omitzero"`
	// LastSuccess is the resource's last successful backup (zero: none known).
	LastSuccess time.Time `json:"last_success,omitzero"`
}

func key(parts ...string) string { return strings.Join(parts, "|") }

// Statuses the rules know. Any other is reported as unknown.
var knownStatus = map[string]string{
	"ok": "", "running": "", "idle": "",
	"warning": Warning, "error": Critical, "critical": Critical,
	"not_protected": Warning,
}

// AcronisResource judges one resource's policies. tenantUUID may be empty
// when the item could not be mapped back (its legacy id is kept).
func (r Rules) AcronisResource(it acronis.PolicyStatusItem, tenantUUID string, now time.Time) []Finding {
	base := acronisBase(it, tenantUUID)
	var out []Finding
	add := func(f Finding) {
		f.Key = key(Acronis, cmp.Or(tenantUUID, "legacy:"+base.TenantLegacyID), base.ResourceID, f.PolicyID, f.Rule)
		out = append(out, f)
	}
	if len(it.Policies) == 0 {
		f := base
		f.Rule, f.Severity, f.Message = RuleNoProtection, Warning, "no protection policy is applied to this resource"
		add(f)
		return out
	}
	for _, p := range it.Policies {
		f := base
		f.Policy, f.PolicyID = cmp.Or(strings.Join(p.Names, ", "), p.Type), cmp.Or(p.ID, p.Type)
		with := func(rule, severity, message string) {
			g := f
			g.Rule, g.Severity, g.Message = rule, severity, message
			add(g)
		}
		policyStatus(p, with)
		r.policyRuns(p, now, with)
	}
	return out
}

// policyStatus judges the status of one applied policy.
func policyStatus(p acronis.PolicyState, with func(rule, severity, message string)) {
	status := strings.ToLower(p.Status)
	sev, known := knownStatus[status]
	switch {
	case !known:
		with(RuleUnknownStatus, Unknown, fmt.Sprintf("status %q is not one the audit knows", p.Status))
	case status == "not_protected":
		with(RuleNoProtection, sev, "the plan is applied but reports this resource not protected (status not_protected)")
	case sev != "":
		with(RuleStatus, sev, fmt.Sprintf("policy status %s", status))
	}
}

// policyRuns judges staleness: from the last (successful) run when the API
// gives it, otherwise from how late the next scheduled run is.
func (r Rules) policyRuns(p acronis.PolicyState, now time.Time, with func(rule, severity, message string)) {
	// The last run only: the age of the last success is stale_backup's to
	// judge (one resource, one critical for it, not two).
	if last := p.LastRunTime; last != "" {
		if t, err := acronis.ParseStamp(last); err == nil && now.Sub(t).Hours() > r.MaxHoursWithoutRun {
			with(RuleStale, Critical, fmt.Sprintf("last run %s, over %.0f h ago", t.UTC().Format(time.RFC3339), r.MaxHoursWithoutRun))
		}
	}
	if p.NextRunTime == "" || p.Running.State == "running" {
		return
	}
	t, err := acronis.ParseStamp(p.NextRunTime)
	switch {
	case err != nil:
		with(RuleSchedule, Unknown, fmt.Sprintf("next_run_time %q unreadable", p.NextRunTime))
	case now.Sub(t).Hours() > r.MaxHoursWithoutRun && p.LastRunTime == "" && p.LastSuccessTime == "":
		with(RuleStale, Critical, fmt.Sprintf("scheduled run of %s never happened: no run for over %.0f h", t.UTC().Format(time.RFC3339), r.MaxHoursWithoutRun))
	case now.Sub(t) > r.NextRunGrace:
		with(RuleNextRunPast, Warning, fmt.Sprintf("next run time %s is %.1f h in the past", t.UTC().Format(time.RFC3339), now.Sub(t).Hours()))
	}
}

func acronisBase(it acronis.PolicyStatusItem, tenantUUID string) Finding {
	return Finding{Provider: Acronis, Customer: it.Context.TenantName, TenantID: tenantUUID, TenantLegacyID: string(it.Context.TenantID),
		Resource: cmp.Or(it.Context.UserDefinedName, it.Context.Name, it.Context.AgentName), ResourceID: it.Context.ID}
}

// AcronisPolicyCounts judges a policy answered in the v4 document's shape:
// resources counted by status per policy, with no resource named. Each
// status that is a finding becomes one finding for the policy, saying how
// many resources are in it (the seed's per-resource shape names them).
func (r Rules) AcronisPolicyCounts(s acronis.PolicySummary, tenantUUID string) []Finding {
	var out []Finding
	for _, c := range s.Contexts.ByStatus {
		status := strings.ToLower(c.Status)
		sev, known := knownStatus[status]
		if c.Value <= 0 || known && sev == "" {
			continue
		}
		f := Finding{Provider: Acronis, Customer: s.Policy.TenantName, TenantID: tenantUUID, TenantLegacyID: string(s.Policy.TenantID),
			Resource: fmt.Sprintf("%d resources", c.Value), Policy: cmp.Or(s.Policy.Name, s.Policy.Type), PolicyID: s.Policy.ID,
			Rule: RuleStatus, Severity: sev, Message: fmt.Sprintf("%d resources in status %s (the platform counted them per policy and named none)", c.Value, status)}
		if !known {
			f.Rule, f.Severity = RuleUnknownStatus, Unknown
		}
		f.Key = key(Acronis, cmp.Or(tenantUUID, "legacy:"+f.TenantLegacyID), "policy", s.Policy.ID, status)
		out = append(out, f)
	}
	return out
}

// CBRPolicy judges one CBR policy definition.
func (r Rules) CBRPolicy(p huaweicbr.Policy, customer string) []Finding {
	base := Finding{Provider: HuaweiCBR, Customer: customer, Policy: p.Name, PolicyID: p.ID, Resource: p.OperationType + " policy"}
	var out []Finding
	add := func(f Finding) {
		f.Key = key(HuaweiCBR, customer, p.ID, f.Rule)
		out = append(out, f)
	}
	if !p.Enabled {
		f := base
		f.Rule, f.Severity, f.Message = RuleDisabled, Warning, "policy is disabled: nothing it covers is backed up"
		add(f)
	}
	r.schedule(base, p.Trigger.Properties.Pattern, p.OperationDefinition, add)
	return out
}

// schedule judges interval and retention (shared by policies and organization policies).
func (r Rules) schedule(base Finding, patterns []string, def huaweicbr.OperationDefinition, add func(Finding)) {
	if len(patterns) > 0 {
		iv, err := huaweicbr.MaxInterval(patterns)
		switch {
		case err != nil:
			f := base
			f.Rule, f.Severity, f.Message = RuleSchedule, Unknown, "schedule unreadable: "+err.Error()
			add(f)
		case iv.Hours() > r.MaxIntervalHours:
			f := base
			f.Rule, f.Severity, f.Message = RuleInterval, Warning, fmt.Sprintf("backups up to %.0f h apart (limit %.0f h)", iv.Hours(), r.MaxIntervalHours)
			add(f)
		}
	}
	// -1 or unset means kept forever; count-based retention (max_backups)
	// is not a duration and is not judged here.
	if d := def.RetentionDurationDays; d != nil && *d >= 0 && *d < r.MinRetentionDays {
		f := base
		f.Rule, f.Severity, f.Message = RuleRetention, Warning, fmt.Sprintf("backups kept %d days (minimum %d)", *d, r.MinRetentionDays)
		add(f)
	}
}

// CBROrganizationPolicy judges an organization policy and its delivery to
// each member account.
func (r Rules) CBROrganizationPolicy(p huaweicbr.OrganizationPolicy, members []huaweicbr.MemberStatus) []Finding {
	var out []Finding
	// The organization policy's own account (domain_name) names the group.
	base := Finding{Provider: HuaweiCBR, Customer: "organization " + cmp.Or(p.DomainName, p.DomainID), Policy: p.Name, PolicyID: p.ID, Resource: p.OperationType + " organization policy"}
	add := func(f Finding) {
		f.Key = key(HuaweiCBR, "organization", p.ID, f.Rule)
		out = append(out, f)
	}
	if p.Enabled != nil && !*p.Enabled {
		f := base
		f.Rule, f.Severity, f.Message = RuleDisabled, Warning, "organization policy is disabled: no member account backs up by it"
		add(f)
	}
	r.schedule(base, p.Trigger.Properties.Pattern, p.OperationDefinition, add)
	for _, m := range members {
		if m.Status == "available" {
			continue
		}
		f := base
		// The delivery detail carries ids only (API-NOTES: "names of accounts
		// and projects are not in them"): grouped by member account and
		// project as the API names them.
		f.Customer = "account " + m.DomainID + " / project " + m.ProjectID
		f.Resource = "member project " + m.ProjectID
		f.Rule, f.Severity = RuleDelivery, Warning
		f.Message = fmt.Sprintf("organization policy %s in member account (status %s)", deliveryVerb(m.Status), m.Status)
		if m.Status == "error" {
			f.Severity = Critical
			if m.ErrorMsg != nil && *m.ErrorMsg != "" {
				f.Message += ": " + *m.ErrorMsg
			}
		}
		f.Key = key(HuaweiCBR, m.DomainID, m.ProjectID, p.ID, RuleDelivery)
		out = append(out, f)
	}
	return out
}

func deliveryVerb(status string) string {
	switch status {
	case "syncing", "updating":
		return "not yet delivered"
	case "deleting":
		return "being removed"
	case "error":
		return "failed to deliver"
	}
	return "in an unknown delivery state"
}
