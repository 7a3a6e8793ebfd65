// The content type `cortex predict FILE` sends, by the file's extension (dev session and --cloud alike).
import { extname } from 'node:path';

const byExtension: Record<string, string> = { '.json': 'application/json', '.txt': 'text/plain', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp', '.gif': 'image/gif' };

export function contentTypeOf(file: string): string {
  return byExtension[extname(file).toLowerCase()] ?? 'application/octet-stream';
}
