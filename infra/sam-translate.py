#!/usr/bin/env python3
"""Translate template.yaml to plain CloudFormation JSON offline, as SAM would.

Usage: sam-translate.py TEMPLATE [--delete-statement FunctionId:N ...] [--code-bucket BUCKET]

--delete-statement removes the N-th (0-based) inline statement of a function's
first Policies entry before translating: the tests use it to show that a run
needs each statement the template grants.
--code-bucket gives each function its own artifact, s3://BUCKET/<LogicalId>.zip, as
`sam package` would (the deploy rehearsal uploads the zips `make build-<LogicalId>` made).
Needs aws-sam-translator (installed with cfn-lint); no AWS account is called.
"""
import argparse
import json
import os
import sys

from samtranslator.parser import parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

# Local CodeUri values become S3 placeholders (sam build/package does this
# with real artifacts); the translator only accepts S3 locations.
PLACEHOLDER = "s3://acp-serverless-placeholder/code.zip"


def placeholder_code(tpl):
    glob = tpl.get("Globals", {}).get("Function", {})
    if isinstance(glob.get("CodeUri"), str) and not glob["CodeUri"].startswith("s3://"):
        glob["CodeUri"] = PLACEHOLDER
    for res in tpl.get("Resources", {}).values():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::Serverless::Function":
            uri = props.get("CodeUri")
            if isinstance(uri, str) and not uri.startswith("s3://"):
                props["CodeUri"] = PLACEHOLDER


def per_function_code(tpl, bucket):
    for fid, res in tpl.get("Resources", {}).items():
        if res.get("Type") == "AWS::Serverless::Function":
            res.setdefault("Properties", {})["CodeUri"] = f"s3://{bucket}/{fid}.zip"


def delete_statement(tpl, spec):
    fn, _, idx = spec.partition(":")
    res = tpl["Resources"].get(fn)
    if res is None:
        sys.exit(f"--delete-statement: no resource {fn}")
    statements = res["Properties"]["Policies"][0]["Statement"]
    i = int(idx)
    if not 0 <= i < len(statements):
        sys.exit(f"--delete-statement: {fn} has {len(statements)} statements, not {i + 1}")
    del statements[i]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("template")
    ap.add_argument("--delete-statement", action="append", default=[])
    ap.add_argument("--code-bucket")
    args = ap.parse_args()
    with open(args.template) as f:
        tpl = yaml_parse(f.read())
    if args.code_bucket:
        per_function_code(tpl, args.code_bucket)
    placeholder_code(tpl)
    for spec in args.delete_statement:
        delete_statement(tpl, spec)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    out = Translator(managed_policy_map={}, sam_parser=parser.Parser()).translate(
        sam_template=tpl, parameter_values={}, passthrough_metadata=True
    )
    json.dump(out, sys.stdout, indent=1, sort_keys=True, default=str)


if __name__ == "__main__":
    main()
