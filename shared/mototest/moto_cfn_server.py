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

Everything else is moto_server unchanged.
Usage: python3 moto_cfn_server.py [moto_server arguments]
"""
import sys

from moto.cloudformation import parsing
from moto.server import main

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


parsing.parse_resource_and_generate_name = parse_resource_and_generate_name
parsing.clean_json = clean_json

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
