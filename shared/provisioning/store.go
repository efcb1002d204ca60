package provisioning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// State is what provisioning remembers per CRM customer, so a retried or
// duplicated event finishes what is missing and repeats nothing. It belongs
// to one tenant: when that tenant is gone, the state starts over.
type State struct {
	TenantID  string            `json:"tenant_id,omitempty"`
	Users     map[string]string `json:"users,omitempty"`     // folded login -> user id
	Created   map[string]bool   `json:"created,omitempty"`   // folded login -> this integration created the user
	Activated map[string]bool   `json:"activated,omitempty"` // folded login -> activation e-mail sent
	Steps     map[string]bool   `json:"steps,omitempty"`     // finished one-time steps
	Retired   bool              `json:"retired,omitempty"`   // customer.deleted disabled the tenant and kept it
}

func newState() State {
	return State{Users: map[string]string{}, Created: map[string]bool{}, Activated: map[string]bool{}, Steps: map[string]bool{}}
}

func (s *State) init() {
	if s.Users == nil {
		s.Users = map[string]string{}
	}
	if s.Created == nil {
		s.Created = map[string]bool{}
	}
	if s.Activated == nil {
		s.Activated = map[string]bool{}
	}
	if s.Steps == nil {
		s.Steps = map[string]bool{}
	}
}

// EventStatus is how far the intake got with an event id.
type EventStatus string

// Event statuses: a new id, one recorded but maybe not queued, one queued.
const (
	EventNew      EventStatus = ""
	EventReceived EventStatus = "received"
	EventQueued   EventStatus = "queued"
)

// Store keeps event ids (replay protection) and per-customer state under a
// lease.
type Store interface {
	// RecordEvent records an event id as received unless it is known, and
	// returns the status it had before (EventNew when just recorded).
	RecordEvent(ctx context.Context, id string, ttl time.Duration) (EventStatus, error)
	// MarkQueued notes that the event reached the queue.
	MarkQueued(ctx context.Context, id string) error
	// Lock takes the customer's lease until the given time; false while
	// someone else holds an unexpired one.
	Lock(ctx context.Context, crmID, owner string, until time.Time) (bool, error)
	Unlock(ctx context.Context, crmID, owner string) error
	Load(ctx context.Context, crmID string) (State, error)
	// Save writes the state only while owner holds an unexpired lease;
	// otherwise it fails with ErrLockLost.
	Save(ctx context.Context, crmID, owner string, st State) error
}

// ErrLockLost means the lease expired (and someone else may hold it now).
var ErrLockLost = errors.New("provisioning lease lost")

// DynamoDB is the Store on a table with a string partition key "pk".
type DynamoDB struct {
	Client *dynamodb.Client
	Table  string
	Now    func() time.Time
}

var _ Store = (*DynamoDB)(nil)

func (d *DynamoDB) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func s(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
func n(v int64) ddbtypes.AttributeValue {
	return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func conditionFailed(err error) bool {
	var cf *ddbtypes.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

func eventKey(id string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{"pk": s("event#" + id)}
}

// RecordEvent is a conditional put (the first writer wins); a known id is
// read back to tell received from queued.
func (d *DynamoDB) RecordEvent(ctx context.Context, id string, ttl time.Duration) (EventStatus, error) {
	_, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(d.Table),
		Item:                map[string]ddbtypes.AttributeValue{"pk": s("event#" + id), "status": s(string(EventReceived)), "expires_at": n(d.now().Add(ttl).Unix())},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err == nil {
		return EventNew, nil
	}
	if !conditionFailed(err) {
		return "", fmt.Errorf("provisioning store: record event %s: %w", id, err)
	}
	out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: eventKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("provisioning store: read event %s: %w", id, err)
	}
	if v, ok := out.Item["status"].(*ddbtypes.AttributeValueMemberS); ok && v.Value == string(EventQueued) {
		return EventQueued, nil
	}
	return EventReceived, nil
}

// MarkQueued sets the event's status to queued.
func (d *DynamoDB) MarkQueued(ctx context.Context, id string) error {
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.Table), Key: eventKey(id),
		UpdateExpression:          aws.String("SET #st = :q"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":q": s(string(EventQueued))},
	})
	if err != nil {
		return fmt.Errorf("provisioning store: mark event %s queued: %w", id, err)
	}
	return nil
}

func custKey(crmID string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{"pk": s("customer#" + crmID)}
}

// Lock takes the lease when it is free or expired.
func (d *DynamoDB) Lock(ctx context.Context, crmID, owner string, until time.Time) (bool, error) {
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.Table), Key: custKey(crmID),
		UpdateExpression:          aws.String("SET lock_owner = :o, lock_until = :u"),
		ConditionExpression:       aws.String("attribute_not_exists(lock_until) OR lock_until < :now OR lock_owner = :o"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":o": s(owner), ":u": n(until.UnixMilli()), ":now": n(d.now().UnixMilli())},
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("provisioning store: lock %s: %w", crmID, err)
	}
	return true, nil
}

// Unlock releases the lease if still held by owner.
func (d *DynamoDB) Unlock(ctx context.Context, crmID, owner string) error {
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.Table), Key: custKey(crmID),
		UpdateExpression:          aws.String("REMOVE lock_owner, lock_until"),
		ConditionExpression:       aws.String("lock_owner = :o"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":o": s(owner)},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("provisioning store: unlock %s: %w", crmID, err)
	}
	return nil
}

// Load reads the customer's state (empty when new).
func (d *DynamoDB) Load(ctx context.Context, crmID string) (State, error) {
	out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: custKey(crmID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return State{}, fmt.Errorf("provisioning store: load %s: %w", crmID, err)
	}
	var st State
	if v, ok := out.Item["state"].(*ddbtypes.AttributeValueMemberS); ok {
		if err := json.Unmarshal([]byte(v.Value), &st); err != nil {
			return State{}, fmt.Errorf("provisioning store: state of %s: %w", crmID, err)
		}
	}
	st.init()
	return st, nil
}

// Save writes the state while owner holds the lease and it has not expired:
// the condition is checked by DynamoDB, so a run whose lease ran out cannot
// overwrite what the next holder wrote.
func (d *DynamoDB) Save(ctx context.Context, crmID, owner string, st State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("provisioning store: save %s: %w", crmID, err)
	}
	_, err = d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.Table), Key: custKey(crmID),
		UpdateExpression:          aws.String("SET #s = :s"),
		ConditionExpression:       aws.String("lock_owner = :o AND lock_until > :now"),
		ExpressionAttributeNames:  map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":s": s(string(b)), ":o": s(owner), ":now": n(d.now().UnixMilli())},
	})
	if conditionFailed(err) {
		return fmt.Errorf("provisioning store: save %s: %w", crmID, ErrLockLost)
	}
	if err != nil {
		return fmt.Errorf("provisioning store: save %s: %w", crmID, err)
	}
	return nil
}
