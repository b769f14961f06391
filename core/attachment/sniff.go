package attachment

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Media types the platform accepts, with the Chinese name shown in
// errors. Anything else is refused, whatever its file name says.
var accepted = map[string]string{
	"image/jpeg":      "JPEG 图片",
	"image/png":       "PNG 图片",
	"image/gif":       "GIF 图片",
	"image/webp":      "WebP 图片",
	"application/pdf": "PDF 文档",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word 文档",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":       "Excel 表格",
	"application/x-ole-storage": "Office 97-2003 文档",
	"audio/wave":                "WAV 录音",
	"audio/mpeg":                "MP3 录音",
	"audio/amr":                 "AMR 录音",
	"video/mp4":                 "MP4 视频",
	"text/plain; charset=utf-8": "文本",
}

// ErrRefused is wrapped by every refusal of a file's content.
var ErrRefused = errors.New("attachment refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// Sniff names the media type of a file from its first bytes (at most 512
// are looked at), as the browser would, plus the formats a hotline meets
// that the standard sniffer does not know (AMR recordings, Office files).
func Sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("#!AMR\n")):
		return "audio/amr"
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		return "application/x-ole-storage"
	}
	return http.DetectContentType(head)
}

// Check sniffs the file of size bytes read through r and checks that it is
// of an accepted type and whole: a truncated image, PDF or Office file is
// refused. It returns the media type.
func Check(r io.ReaderAt, size int64) (string, error) {
	head := make([]byte, min(size, 512))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the file: %w", err)
	}
	mt := Sniff(head)
	if mt == "application/zip" {
		var err error
		if mt, err = officeType(r, size); err != nil {
			return mt, refuse("文件不完整或已损坏（压缩包无法打开），请重新上传")
		}
	}
	if _, ok := accepted[mt]; !ok {
		return mt, refuse("不支持的文件类型（按内容识别为 %s）；可上传图片、PDF、Word、Excel、录音、视频或文本", mt)
	}
	if err := whole(mt, r, size); err != nil {
		return mt, err
	}
	return mt, nil
}

// officeType tells Word and Excel files (zip archives) from other zips.
func officeType(r io.ReaderAt, size int64) (string, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return "application/zip", err
	}
	for _, f := range z.File {
		switch {
		case strings.HasPrefix(f.Name, "word/"):
			return "application/vnd.openxmlformats-officedocument.wordprocessingml.document", nil
		case strings.HasPrefix(f.Name, "xl/"):
			return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", nil
		}
	}
	return "application/zip", nil
}

// whole checks that a file ends the way its format ends.
func whole(mt string, r io.ReaderAt, size int64) error {
	tail := make([]byte, min(size, 1024))
	if _, err := r.ReadAt(tail, size-int64(len(tail))); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading the file: %w", err)
	}
	truncated := false
	switch mt {
	case "image/jpeg":
		truncated = !bytes.HasSuffix(bytes.TrimRight(tail, "\x00"), []byte{0xFF, 0xD9})
	case "image/png":
		truncated = !bytes.Contains(tail, []byte("IEND"))
	case "image/gif":
		truncated = !bytes.HasSuffix(bytes.TrimRight(tail, "\x00"), []byte{0x3B})
	case "application/pdf":
		truncated = !bytes.Contains(tail, []byte("%%EOF"))
	}
	if truncated {
		return refuse("文件不完整（%s 缺少结尾），可能上传中断，请重新上传", accepted[mt])
	}
	return nil
}
