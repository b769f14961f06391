// Files served beside /graphql (GET /attachments/{id}, GET /recordings/{id})
// need the session's Authorization header, which an <img>, <audio> or link
// cannot send: they are fetched here and shown from a blob: URL.
import { authHeaders, networkMessage } from './graphql/client'

export interface FileInfo {
  id: string
  name: string
  mediaType: string
  size: number
}

// nameOf reads the file name of a Content-Disposition header
// (filename*=UTF-8''…, or filename="…").
export function nameOf(disposition: string | null): string {
  if (!disposition) return ''
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition)
  if (star) {
    try {
      return decodeURIComponent(star[1].trim())
    } catch {
      return star[1].trim()
    }
  }
  return /filename="?([^";]+)"?/i.exec(disposition)?.[1] ?? ''
}

async function get(path: string, method: 'GET' | 'HEAD'): Promise<Response> {
  let res: Response
  try {
    res = await fetch(path, { method, headers: authHeaders() })
  } catch {
    throw new Error(networkMessage)
  }
  if (!res.ok) {
    let msg = ''
    if (method === 'GET') {
      msg = await res.text().catch(() => '')
      try {
        msg = (JSON.parse(msg) as { error?: string }).error ?? msg
      } catch {
        // plain text
      }
    }
    throw new Error(msg.trim() || (res.status === 404 ? '文件不存在或无权查看' : `读取失败（${res.status}）`))
  }
  return res
}

// attachmentInfo asks what an attachment is (a HEAD request: its name and
// type from the headers, nothing downloaded).
export async function attachmentInfo(id: string): Promise<FileInfo> {
  const res = await get('/attachments/' + encodeURIComponent(id), 'HEAD')
  return {
    id,
    name: nameOf(res.headers.get('Content-Disposition')) || id,
    mediaType: res.headers.get('Content-Type') ?? '',
    size: Number(res.headers.get('Content-Length') ?? 0),
  }
}

// blobURL downloads a file and returns a blob: URL for it; the caller
// revokes it when done.
export async function blobURL(path: string): Promise<string> {
  const res = await get(path, 'GET')
  return URL.createObjectURL(await res.blob())
}

// save downloads a file under its name.
export async function save(path: string, name: string) {
  const url = await blobURL(path)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

// previewable says whether the browser can show a file itself.
export function previewable(mediaType: string): 'image' | 'pdf' | 'audio' | 'video' | 'text' | null {
  if (mediaType.startsWith('image/')) return 'image'
  if (mediaType === 'application/pdf') return 'pdf'
  if (mediaType.startsWith('audio/')) return 'audio'
  if (mediaType.startsWith('video/')) return 'video'
  if (mediaType.startsWith('text/')) return 'text'
  return null
}
