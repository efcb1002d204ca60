// Package huaweicbr is a small client for the Huawei Cloud Backup and
// Recovery (CBR) API: the few GETs the policy audit needs, AK/SK signing
// ("SDK-HMAC-SHA256") or an IAM X-Auth-Token, offset paging that trusts
// count rather than page length, and one error type for the
// {"error_code","error_msg"} envelope. Calls have connect, response-header
// and total timeouts, and never send credentials across a redirect to
// another origin. The official SDK (huaweicloud-sdk-go-v3) was measured
// against it (README, policy-audit, "Why our own CBR client"): a larger
// binary, no context support, and no error_msg in its delivery detail model.
package huaweicbr
