"""moto_server whose CloudFormation does two things AWS CloudFormation does and
moto 5 does not, so a SAM template's stack can be created the way AWS creates it.

1. A FIFO queue without a QueueName gets a generated name ending in ".fifo".
   SQS refuses a FIFO queue whose name lacks the suffix ("Queue name must end
   in .fifo for FIFO queues"); CloudFormation appends it when it generates
   the name (troposphere#931, localstack#5700 fixed their moto-based copy the
   same way). moto generates "<stack>-<logical id>-<suffix>" for every type.
2. A list element that resolves to AWS::NoValue is removed ("AWS::NoValue
   removes the corresponding resource property when specified as a return
   value in the Fn::If intrinsic function"). moto drops such a value from a
   mapping but keeps it in a list as null, and then fails on
   `Policies: [..., !If [Cond, {...}, !Ref AWS::NoValue]]` (SAM's translation
   of a conditional policy) with a TypeError.

3. Properties moto's models take through their APIs but not from a template
   are handed over as CloudFormation hands them to the service: a Lambda
   function's Architectures, its environment values as strings (Lambda's
   Variables are string to string; moto kept a Number parameter's value as
   an integer, and GetFunction then broke the SDK's decoder), a KMS key's
   KeyPolicy as a JSON document (moto stored the object, and DescribeKey
   answered 500), and a bucket's VersioningConfiguration and
   PublicAccessBlockConfiguration (moto's bucket model ignored both).
   What moto has no model for (a function's LoggingConfig, a bucket's
   LifecycleConfiguration) is not faked: the rehearsal lists it as not
   rehearsed.

Everything else is moto_server unchanged.
Usage: python3 moto_cfn_server.py [moto_server arguments]
"""
import sys

import json

from moto.awslambda.models import LambdaFunction
from moto.cloudformation import parsing
from moto.kms.models import Key
from moto.s3.models import FakeBucket, s3_backends
from moto.server import main
from moto.utilities.utils import get_partition

_parse_and_name = parsing.parse_resource_and_generate_name


def parse_resource_and_generate_name(logical_id, resource_json, resources_map):
    out = _parse_and_name(logical_id, resource_json, resources_map)
    if not out or out[2] is None:
        return out
    cls, props_json, name = out
    props = (props_json or {}).get("Properties") or {}
    fifo = str(props.get("FifoQueue", "")).lower() == "true"
    if resource_json.get("Type") == "AWS::SQS::Queue" and fifo and "QueueName" not in props:
        name = name[: 80 - len(".fifo")] + ".fifo"
    return cls, props_json, name


_clean_json = parsing.clean_json


def clean_json(resource_json, resources_map):
    if isinstance(resource_json, list):
        cleaned = (clean_json(v, resources_map) for v in resource_json)
        return [v for v in cleaned if v is not None]
    return _clean_json(resource_json, resources_map)


_lambda_create = LambdaFunction.create_from_cloudformation_json.__func__


def lambda_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    props = cloudformation_json["Properties"]
    env = (props.get("Environment") or {}).get("Variables")
    if env:
        props["Environment"]["Variables"] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in env.items()}
    fn = _lambda_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    if props.get("Architectures"):
        fn.architectures = list(props["Architectures"])
    return fn


_key_create = Key.create_from_cloudformation_json.__func__


def key_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    props = cloudformation_json["Properties"]
    if isinstance(props.get("KeyPolicy"), dict):
        props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
    return _key_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


_bucket_create = FakeBucket.create_from_cloudformation_json.__func__


def bucket_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    bucket = _bucket_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    props = cloudformation_json.get("Properties") or {}
    backend = s3_backends[account_id][get_partition(region_name)]
    status = (props.get("VersioningConfiguration") or {}).get("Status")
    if status:
        backend.put_bucket_versioning(resource_name, status)
    pab = props.get("PublicAccessBlockConfiguration")
    if pab:
        backend.put_public_access_block(resource_name, {k: str(v).lower() for k, v in pab.items()})
    return bucket


LambdaFunction.create_from_cloudformation_json = classmethod(lambda_create)
Key.create_from_cloudformation_json = classmethod(key_create)
FakeBucket.create_from_cloudformation_json = classmethod(bucket_create)
parsing.parse_resource_and_generate_name = parse_resource_and_generate_name
parsing.clean_json = clean_json

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
