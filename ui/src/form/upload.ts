// Uploads to POST /attachments (core/attachment): multipart, field "file",
// signed in like /graphql. XMLHttpRequest rather than fetch, because only
// it reports an upload's progress.
import { authHeaders, networkMessage } from '../graphql/client'

export interface Uploaded {
  id: string
  name: string
  size: number
  mediaType: string
}

export function uploadAttachment(file: File, progress: (percent: number) => void): Promise<Uploaded> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', '/attachments')
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v)
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) progress(Math.min(99, Math.round((e.loaded / e.total) * 100)))
    }
    xhr.onload = () => {
      let body: { id?: string; name?: string; size?: number; mediaType?: string; error?: string } = {}
      try {
        body = JSON.parse(xhr.responseText)
      } catch {
        // the message below says the upload failed
      }
      if (xhr.status === 201 && body.id) {
        progress(100)
        resolve({ id: body.id, name: body.name ?? file.name, size: body.size ?? file.size, mediaType: body.mediaType ?? file.type })
      } else {
        reject(new Error(body.error || `上传失败（${xhr.status}）`))
      }
    }
    xhr.onerror = () => reject(new Error(networkMessage))
    const data = new FormData()
    data.append('file', file, file.name)
    xhr.send(data)
  })
}
