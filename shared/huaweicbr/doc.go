// Package huaweicbr is a small client for the Huawei Cloud Backup and
// Recovery (CBR) API: the few GETs the policy audit needs, AK/SK signing
// ("SDK-HMAC-SHA256") or an IAM X-Auth-Token, offset paging, and one error
// type for the {"error_code","error_msg"} envelope. The official SDK is one
// 46 MB module without context support that drops error_msg from the
// delivery detail; this is the better fit for a Lambda.
package huaweicbr
