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
// duplicated event finishes what is missing and repeats nothing.
type State struct {
	TenantID  string            `json:"tenant_id,omitempty"`
	Users     map[string]string `json:"users,omitempty"`     // login -> user id
	Activated map[string]bool   `json:"activated,omitempty"` // login -> activation e-mail sent
	Steps     map[string]bool   `json:"steps,omitempty"`     // finished one-time steps
	Deleted   bool              `json:"deleted,omitempty"`
}

func (s *State) init() {
	if s.Users == nil {
		s.Users = map[string]string{}
	}
	if s.Activated == nil {
		s.Activated = map[string]bool{}
	}
	if s.Steps == nil {
		s.Steps = map[string]bool{}
	}
}

// Store keeps event ids (replay protection) and per-customer state under a
// lease lock.
type Store interface {
	// MarkEvent records an event id; false when it was already recorded.
	MarkEvent(ctx context.Context, id string, ttl time.Duration) (bool, error)
	// ForgetEvent removes an event id (when it could not be queued).
	ForgetEvent(ctx context.Context, id string) error
	// Lock takes the customer's lease; false while someone else holds it.
	Lock(ctx context.Context, crmID, owner string, lease time.Duration) (bool, error)
	Unlock(ctx context.Context, crmID, owner string) error
	Load(ctx context.Context, crmID string) (State, error)
	// Save writes the state; only the lease holder may.
	Save(ctx context.Context, crmID, owner string, st State) error
}

// ErrLockLost means the lease expired and someone else took it.
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

// MarkEvent is a conditional put: the first writer wins.
func (d *DynamoDB) MarkEvent(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	_, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(d.Table),
		Item:                map[string]ddbtypes.AttributeValue{"pk": s("event#" + id), "expires_at": n(d.now().Add(ttl).Unix())},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("provisioning store: mark event %s: %w", id, err)
	}
	return true, nil
}

// ForgetEvent deletes an event id.
func (d *DynamoDB) ForgetEvent(ctx context.Context, id string) error {
	_, err := d.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(d.Table), Key: map[string]ddbtypes.AttributeValue{"pk": s("event#" + id)}})
	if err != nil {
		return fmt.Errorf("provisioning store: forget event %s: %w", id, err)
	}
	return nil
}

func custKey(crmID string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{"pk": s("customer#" + crmID)}
}

// Lock takes the lease when it is free or expired.
func (d *DynamoDB) Lock(ctx context.Context, crmID, owner string, lease time.Duration) (bool, error) {
	now := d.now()
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.Table), Key: custKey(crmID),
		UpdateExpression:          aws.String("SET lock_owner = :o, lock_until = :u"),
		ConditionExpression:       aws.String("attribute_not_exists(lock_until) OR lock_until < :now OR lock_owner = :o"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":o": s(owner), ":u": n(now.Add(lease).UnixMilli()), ":now": n(now.UnixMilli())},
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

// Save writes the state while owner holds the lease.
func (d *DynamoDB) Save(ctx context.Context, crmID, owner string, st State) error {
	b, _ := json.Marshal(st)
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.Table), Key: custKey(crmID),
		UpdateExpression:          aws.String("SET #s = :s"),
		ConditionExpression:       aws.String("lock_owner = :o"),
		ExpressionAttributeNames:  map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":s": s(string(b)), ":o": s(owner)},
	})
	if conditionFailed(err) {
		return fmt.Errorf("provisioning store: save %s: %w", crmID, ErrLockLost)
	}
	if err != nil {
		return fmt.Errorf("provisioning store: save %s: %w", crmID, err)
	}
	return nil
}
