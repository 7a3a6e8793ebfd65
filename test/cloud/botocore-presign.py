"""Presigns STS GetCallerIdentity the way `aws eks get-token` does (botocore's SigV4QueryAuth,
60 s, the x-k8s-aws-id header signed), at a given time, and prints the URL. The EKS token test
compares it with the URL inside cortex's token: two implementations, one answer.
Usage: botocore-presign.py CLUSTER REGION ACCESS_KEY SECRET_KEY SESSION_TOKEN X_AMZ_DATE"""
import datetime
import sys
from unittest import mock

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

cluster, region, access_key, secret_key, session_token, amz_date = sys.argv[1:7]
at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")


class Frozen(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return at

    @classmethod
    def now(cls, tz=None):
        return at.replace(tzinfo=tz) if tz else at


with mock.patch("botocore.auth.datetime.datetime", Frozen):
    request = AWSRequest(
        method="GET",
        url=f"https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        headers={"x-k8s-aws-id": cluster},
    )
    SigV4QueryAuth(Credentials(access_key, secret_key, session_token or None), "sts", region, expires=60).add_auth(request)
    print(request.url)
