// The bearer token EKS's API server accepts, made the way aws-iam-authenticator (and
// `aws eks get-token`) make it, so no aws CLI is needed: a GetCallerIdentity request to the
// regional STS endpoint, presigned with SigV4 for 60 seconds and with the signed header
// `x-k8s-aws-id: <cluster name>` (binding it to one cluster), as a URL, base64url-encoded without
// padding, behind "k8s-aws-v1.". EKS replays the URL against STS to learn who is calling.
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Credentials } from './aws.js';

export const TOKEN_PREFIX = 'k8s-aws-v1.';
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** X-Amz-Expires: how long STS accepts the presigned URL (aws-iam-authenticator's value). */
export const PRESIGN_SECONDS = 60;
/** How long EKS accepts a token: 15 minutes from signing; callers refresh a minute early, as the authenticator does. */
const TOKEN_LIFETIME_MS = 14 * 60_000;

export interface EksToken {
  token: string;
  /** When to get a new one. */
  expiresAt: Date;
}

export interface EksTokenInput {
  clusterName: string;
  region: string;
  credentials: Credentials;
  /** The signing time; now when absent (tests pass one to get a reproducible token). */
  signingDate?: Date;
}

/** SHA-256 and HMAC-SHA-256 from node:crypto, in the shape the SigV4 signer asks for. */
class Sha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    if (this.secret === undefined) return createHash('sha256');
    const key = typeof this.secret === 'string' ? this.secret
      : ArrayBuffer.isView(this.secret) ? Buffer.from(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength) : Buffer.from(this.secret);
    return createHmac('sha256', key);
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

export function stsHost(region: string): string {
  // China regions' STS lives under amazonaws.com.cn.
  return region.startsWith('cn-') ? `sts.${region}.amazonaws.com.cn` : `sts.${region}.amazonaws.com`;
}

export async function eksToken({ clusterName, region, credentials, signingDate = new Date() }: EksTokenInput): Promise<EksToken> {
  const signer = new SignatureV4({ service: 'sts', region, credentials, sha256: Sha256, applyChecksum: false });
  const hostname = stsHost(region);
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, [CLUSTER_ID_HEADER]: clusterName },
    },
    { expiresIn: PRESIGN_SECONDS, signingDate },
  );
  const query = Object.entries(signed.query ?? {})
    .flatMap(([key, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${encode(key)}=${encode(String(v))}`))
    .join('&');
  const url = `https://${hostname}/?${query}`;
  return {
    token: TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url'),
    expiresAt: new Date(signingDate.getTime() + TOKEN_LIFETIME_MS),
  };
}

/** RFC 3986 encoding, as SigV4's canonical query string uses. */
function encode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The presigned URL inside a token (for `cluster info --debug` and the tests). */
export function decodeEksToken(token: string): URL {
  if (!token.startsWith(TOKEN_PREFIX)) throw new Error(`an EKS token starts with "${TOKEN_PREFIX}"`);
  return new URL(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'));
}
