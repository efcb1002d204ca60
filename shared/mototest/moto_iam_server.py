"""moto_server whose IAM enforcement also knows the resource of Secrets Manager,
DynamoDB and SNS calls.

moto authorizes S3, SQS, IAM and STS calls against the resource they name, but
every other service's call against "*": a statement granting
secretsmanager:GetSecretValue on one secret would never match, and "*" would be
the only grant that works. This launcher gives those services the resource ARN
the call names, so a role's statements are checked as AWS checks them
(action and resource), then runs moto_server unchanged.
Usage: python3 moto_iam_server.py [moto_server arguments]
"""
import sys
from urllib.parse import quote, unquote

from moto.dynamodb.responses import DynamoHandler
from moto.iam.access_control import S3IAMRequest
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.server import main
from moto.sns.responses import SNSResponse


def secret_arn(self):
    sid = self._get_param("SecretId")
    secret = self.backend.secrets.get(sid) if sid else None
    # A secret that does not exist has no ARN: only a "*" grant covers it,
    # as for a principal that may not see it on AWS.
    return secret.arn if secret is not None else "*"


def table_arn(self):
    name = self._get_param("TableName")
    table = self.dynamodb_backend.tables.get(name) if name else None
    return table.table_arn if table is not None else "*"


def topic_arn(self):
    return self._get_param("TopicArn") or "*"


# moto recomputes an S3 signature from the decoded path: a key with "="
# (usage/dt=.../run=...) was signed by the SDK as %3D (SigV4 encodes every
# byte but A-Z a-z 0-9 - _ . ~ and "/"), so every such request failed with
# SignatureDoesNotMatch. Encode the path as the signer did.
_s3_init = S3IAMRequest.__init__


def s3_init(self, *args, **kwargs):
    _s3_init(self, *args, **kwargs)
    path, sep, query = self._path.partition("?")
    self._path = quote(unquote(path), safe="/~") + sep + query


S3IAMRequest.__init__ = s3_init
SecretsManagerResponse._determine_resource = secret_arn
DynamoHandler._determine_resource = table_arn
SNSResponse._determine_resource = topic_arn

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
