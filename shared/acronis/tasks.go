package acronis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/inputcheck"
)

// TasksPath is the Task Manager v2 list endpoint.
const TasksPath = "/api/task_manager/v2/tasks"

// Task is one task of GET /api/task_manager/v2/tasks read at lod=full (the
// document's task_1 fields; at lower levels of detail tenant, policy and
// resource are absent).
type Task struct {
	ID           int64
	UUID         string
	Type         string
	State        string // enqueued, assigned, started, paused, completed
	ResultCode   string // ok, error, warning, cancelled, abandoned, timedout; "" while running
	Error        *TaskError
	TenantID     string // tenant.id (string64; legacy numeric on the platform)
	TenantUUID   string
	ResourceID   string
	ResourceName string
	ResourceType string
	PolicyID     string
	PolicyName   string
	PolicyType   string
	EnqueuedAt   time.Time
	UpdatedAt    time.Time
	StartedAt    *time.Time
	CompletedAt  *time.Time
}

// TaskError is a task result's error (the document's domainError): domain
// and code always, the reason and a human text when the service gave them.
type TaskError struct {
	Domain string
	Code   string
	Reason string
	Text   string // debug.msg, else context.message/reason, else ""
}

// Error renders the error for a report: "domain/code: text".
func (e *TaskError) Error() string {
	s := e.Domain + "/" + e.Code
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// TaskQuery selects tasks. The task manager has no tenant filter: tasks are
// those the token's tenant sees. ResourceIDs (from the tenants' policy
// statuses) narrow them in batches of at most MaxBatch as repeated
// resourceId= ("Multiple entries are accepted"); without ResourceIDs the
// whole scope is walked once.
type TaskQuery struct {
	ResourceIDs    []string
	PolicyTypes    []string  // e.g. "policy.backup.machine"
	Types          []string  // task types
	ResultCodes    []string  // e.g. "error", "ok"
	CompletedSince time.Time // completedAt=gt(RFC 3339) when not zero
	Limit          int       // page size; the document requires limit to page (default 200)
}

// TaskPage is one page of tasks and the resource batch it answers (nil when
// the whole scope is walked).
type TaskPage struct {
	Batch []string
	Items []Task
}

// DefaultTaskLimit is the page size used when TaskQuery.Limit is 0: the
// document pages only with limit ("after: Can be used only with the limit
// query string parameter").
const DefaultTaskLimit = 200

// Tasks walks the completed tasks matching q, newest completion first.
func (c *Client) Tasks(ctx context.Context, q TaskQuery) iter.Seq2[TaskPage, error] {
	return func(yield func(TaskPage, error) bool) {
		batches := slices.Collect(slices.Chunk(q.ResourceIDs, MaxBatch))
		if len(q.ResourceIDs) == 0 {
			batches = [][]string{nil}
		}
		for _, batch := range batches {
			if err := checkTenantIDs(batch); err != nil {
				yield(TaskPage{}, fmt.Errorf("acronis: tasks: resource %w", err))
				return
			}
			for items, err := range (cursorList[Task]{TasksPath, taskFilter(q, batch), false, DecodeTasks}).walk(ctx, c) {
				if !yield(TaskPage{Batch: batch, Items: items}, err) || err != nil {
					return
				}
			}
		}
	}
}

func taskFilter(q TaskQuery, batch []string) url.Values {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultTaskLimit
	}
	v := url.Values{"lod": {"full"}, "state": {"completed"}, "order": {"desc(completedAt)"}, "limit": {strconv.Itoa(limit)}}
	for k, vals := range map[string][]string{"resourceId": batch, "policyType": q.PolicyTypes, "type": q.Types, "resultCode": q.ResultCodes} {
		if len(vals) > 0 {
			v[k] = vals
		}
	}
	if !q.CompletedSince.IsZero() {
		v.Set("completedAt", "gt("+q.CompletedSince.UTC().Format(time.RFC3339)+")")
	}
	return v
}

// Task and agent lists send only limit beside after on their next pages:
// the task document says after "Can be used only with the limit query string
// parameter", the agent document that after "is mutually exclusive with all
// other but limit query parameters". The cursor carries the filters there.

// taskView is the document's task_1 as it travels.
type taskView struct {
	State  *string `json:"state"`
	Result *struct {
		Code  *string `json:"code"`
		Error *struct {
			Domain  *string         `json:"domain"`
			Code    *string         `json:"code"`
			Reason  string          `json:"reason"`
			Context json.RawMessage `json:"context"`
			Debug   json.RawMessage `json:"debug"`
		} `json:"error"`
	} `json:"result"`
	ID          *int64    `json:"id"`
	UUID        string    `json:"uuid"`
	Type        string    `json:"type"`
	Tenant      *taskLink `json:"tenant"`
	Policy      *taskLink `json:"policy"`
	Resource    *taskLink `json:"resource"`
	EnqueuedAt  *string   `json:"enqueuedAt"`
	UpdatedAt   *string   `json:"updatedAt"`
	StartedAt   *string   `json:"startedAt"`
	CompletedAt *string   `json:"completedAt"`
}

type taskLink struct {
	ID   string `json:"id"`
	UUID string `json:"uuid"`
	Name string `json:"name"`
	Type string `json:"type"`
}

var (
	taskStates  = []string{"enqueued", "assigned", "started", "paused", "completed"}
	taskResults = []string{"ok", "error", "warning", "cancelled", "abandoned", "timedout"}
)

// DecodeTasks decodes one answer of GET /tasks. The document puts the cursor
// at the top level ({"items", "cursors":{"after"}}); API-NOTES describes
// paging.cursors.after for the family: both are read.
func DecodeTasks(b []byte) ([]Task, string, error) {
	page, err := decodeManagerPage[taskView](b, "tasks")
	if err != nil {
		return nil, "", err
	}
	after := ""
	if page.Cursors != nil {
		after = page.Cursors.After
	}
	if after == "" {
		after, _ = page.pagingCursor()
	}
	out, err := convertItems(*page.Items, "tasks", taskView.task)
	if err != nil {
		return nil, "", err
	}
	return out, after, nil
}

func (v taskView) task() (Task, error) {
	switch {
	case v.ID == nil:
		return Task{}, errors.New("id: missing")
	case v.State == nil:
		return Task{}, errors.New("state: missing")
	case !slices.Contains(taskStates, *v.State):
		return Task{}, fmt.Errorf("state: %q is not one of %v", inputcheck.Truncate(*v.State, 40), taskStates)
	case v.EnqueuedAt == nil:
		return Task{}, errors.New("enqueuedAt: missing")
	case v.UpdatedAt == nil:
		return Task{}, errors.New("updatedAt: missing")
	}
	t := Task{ID: *v.ID, UUID: v.UUID, Type: v.Type, State: *v.State}
	if err := v.links(&t); err != nil {
		return Task{}, err
	}
	if err := v.result(&t); err != nil {
		return Task{}, err
	}
	return t, v.times(&t)
}

func (v taskView) links(t *Task) error {
	if v.Tenant != nil {
		t.TenantID, t.TenantUUID = v.Tenant.ID, v.Tenant.UUID
	}
	if v.Resource != nil {
		if v.Resource.ID == "" {
			return errors.New("resource.id: missing")
		}
		t.ResourceID, t.ResourceName, t.ResourceType = v.Resource.ID, v.Resource.Name, v.Resource.Type
	}
	if v.Policy != nil {
		if v.Policy.ID == "" {
			return errors.New("policy.id: missing")
		}
		t.PolicyID, t.PolicyName, t.PolicyType = v.Policy.ID, v.Policy.Name, v.Policy.Type
	}
	return nil
}

func (v taskView) result(t *Task) error {
	if v.Result == nil {
		return nil
	}
	if v.Result.Code == nil {
		return errors.New("result.code: missing")
	}
	if !slices.Contains(taskResults, *v.Result.Code) {
		return fmt.Errorf("result.code: %q is not one of %v", inputcheck.Truncate(*v.Result.Code, 40), taskResults)
	}
	t.ResultCode = *v.Result.Code
	if e := v.Result.Error; e != nil {
		if e.Domain == nil || e.Code == nil {
			return errors.New("result.error: domain and code are required")
		}
		t.Error = &TaskError{Domain: *e.Domain, Code: *e.Code, Reason: e.Reason, Text: errorText(e.Debug, e.Context)}
	}
	return nil
}

// errorText finds words in a domainError's debug ("Error debug information
// (map type)") or context ("Error context dictionary"): msg, message, reason.
func errorText(maps ...json.RawMessage) string {
	for _, raw := range maps {
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		for _, k := range []string{"msg", "message", "reason"} {
			if s, ok := m[k].(string); ok && s != "" {
				return s
			}
		}
	}
	return ""
}

func (v taskView) times(t *Task) error {
	var err error
	if t.EnqueuedAt, err = ParseStamp(*v.EnqueuedAt); err != nil {
		return fmt.Errorf("enqueuedAt: %w", err)
	}
	if t.UpdatedAt, err = ParseStamp(*v.UpdatedAt); err != nil {
		return fmt.Errorf("updatedAt: %w", err)
	}
	for _, o := range []struct {
		name string
		s    *string
		dst  **time.Time
	}{{"startedAt", v.StartedAt, &t.StartedAt}, {"completedAt", v.CompletedAt, &t.CompletedAt}} {
		if o.s == nil || *o.s == "" {
			continue
		}
		ts, err := ParseStamp(*o.s)
		if err != nil {
			return fmt.Errorf("%s: %w", o.name, err)
		}
		*o.dst = &ts
	}
	return nil
}

// ResourceTasks is what the audit says about one resource's backups: the
// newest completed task, the newest successful one, and the failures newer
// than that success (newest first), so "failing since" is the oldest of them.
type ResourceTasks struct {
	ResourceID  string
	Latest      *Task
	LastSuccess *Task
	Failures    []Task
}

// TaskFailed reports whether a completed task counts as failed for the audit.
func TaskFailed(t Task) bool {
	return t.ResultCode == "error" || t.ResultCode == "abandoned" || t.ResultCode == "timedout"
}

// Summarize groups completed tasks by resource. Tasks may come in any order
// and across pages; those without a resource or completion time are skipped.
func Summarize(tasks []Task) map[string]*ResourceTasks {
	sorted := slices.Clone(tasks)
	slices.SortStableFunc(sorted, func(a, b Task) int { return compareCompletion(b, a) })
	out := map[string]*ResourceTasks{}
	for i := range sorted {
		t := sorted[i]
		if t.ResourceID == "" || t.CompletedAt == nil {
			continue
		}
		r := out[t.ResourceID]
		if r == nil {
			r = &ResourceTasks{ResourceID: t.ResourceID, Latest: &sorted[i]}
			out[t.ResourceID] = r
		}
		switch {
		case r.LastSuccess != nil:
		case t.ResultCode == "ok" || t.ResultCode == "warning":
			r.LastSuccess = &sorted[i]
		case TaskFailed(t):
			r.Failures = append(r.Failures, t)
		}
	}
	return out
}

func compareCompletion(a, b Task) int {
	switch {
	case a.CompletedAt == nil && b.CompletedAt == nil:
		return 0
	case a.CompletedAt == nil:
		return -1
	case b.CompletedAt == nil:
		return 1
	}
	return a.CompletedAt.Compare(*b.CompletedAt)
}
