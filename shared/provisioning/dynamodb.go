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
