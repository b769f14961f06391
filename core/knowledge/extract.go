package knowledge

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
	"github.com/xuri/excelize/v2"

	"github.com/hotline12345/hotline/core/attachment"
)

// maxExtract bounds how much of a file is read for its text.
const maxExtract = 32 << 20

// Media types whose text is read; others (old Word, images, scanned PDFs
// without a text layer) are kept and marked as not extracted.
const (
	mediaText = "text/plain"
	mediaPDF  = "application/pdf"
	mediaDocx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	mediaXlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// extractText reads the text of a file. A file that cannot be read gives
// a reason, never an error: the article is published with it all the same.
func extractText(data []byte, mediaType string) (text string, reason string) {
	switch {
	case strings.HasPrefix(mediaType, mediaText):
		if !utf8.Valid(data) {
			return "", "不是 UTF-8 文本"
		}
		return string(data), ""
	case mediaType == mediaDocx:
		t, err := docxText(data)
		if err != nil {
			return "", "Word 文档无法读取：" + err.Error()
		}
		return t, ""
	case mediaType == mediaXlsx:
		t, err := xlsxText(data)
		if err != nil {
			return "", "Excel 表格无法读取：" + err.Error()
		}
		return t, ""
	case mediaType == mediaPDF:
		t, err := pdfText(data)
		if err != nil {
			return "", "PDF 文件无法读取：" + err.Error()
		}
		if strings.TrimSpace(t) == "" {
			return "", "PDF 中没有文字层（可能是扫描件）"
		}
		return t, ""
	}
	return "", "暂不支持提取此类文件的文字"
}

// docxText is the text of a Word document's body: its w:t runs, a line per
// paragraph.
func docxText(data []byte) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", err
	}
	f, err := zr.Open("word/document.xml")
	if err != nil {
		return "", errors.New("没有 word/document.xml")
	}
	defer f.Close()
	dec := xml.NewDecoder(io.LimitReader(f, maxExtract))
	var b strings.Builder
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return strings.TrimSpace(b.String()), nil
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			inText = t.Name.Local == "t"
			if t.Name.Local == "tab" {
				b.WriteByte('\t')
			}
		case xml.EndElement:
			inText = false
			if t.Name.Local == "p" {
				b.WriteByte('\n')
			}
		case xml.CharData:
			if inText {
				b.Write(t)
			}
		}
	}
}

// pdfText is the text layer of a PDF, page by page. The PDF reader panics
// on some malformed files; a panic is the file's fault, not the article's.
func pdfText(data []byte) (text string, err error) {
	defer func() {
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("文件结构损坏（%v）", r)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", err
	}
	plain, err := r.GetPlainText()
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(plain, maxExtract))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// xlsxText is the text of every sheet's cells, a line per row.
func xlsxText(data []byte) (string, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), unzipLimits)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b strings.Builder
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		if err != nil {
			return "", err
		}
		for _, r := range rows {
			b.WriteString(strings.Join(r, "\t"))
			b.WriteByte('\n')
		}
	}
	return strings.TrimSpace(b.String()), nil
}

// filesText returns the text of the files of articles, by article,
// reading (and remembering in kb_attachment_text) each file once.
func (s *Service) filesText(ctx context.Context, articles []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(articles) == 0 || s.Files == nil {
		return out, nil
	}
	rows, err := s.Pool.Query(ctx, `SELECT f.ticket_id, f.attachment_id, a.media_type, t.extracted, COALESCE(t.text, '')
		FROM kb_attachments f JOIN attachments a ON a.id = f.attachment_id
		LEFT JOIN kb_attachment_text t ON t.attachment_id = f.attachment_id
		WHERE f.ticket_id = ANY($1) ORDER BY f.ticket_id, f.attachment_id`, articles)
	if err != nil {
		return nil, fmt.Errorf("reading the files of knowledge articles: %w", err)
	}
	type file struct {
		article       int64
		id, mediaType string
		extracted     *bool
		text          string
	}
	var files []file
	for rows.Next() {
		var f file
		if err := rows.Scan(&f.article, &f.id, &f.mediaType, &f.extracted, &f.text); err != nil {
			rows.Close()
			return nil, err
		}
		files = append(files, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.extracted == nil {
			text, reason := s.readFile(ctx, f.id, f.mediaType)
			ok := reason == ""
			if _, err := s.Pool.Exec(ctx, `INSERT INTO kb_attachment_text (attachment_id, extracted, text, reason) VALUES ($1, $2, $3, $4)
				ON CONFLICT (attachment_id) DO NOTHING`, f.id, ok, text, reason); err != nil {
				return nil, fmt.Errorf("keeping the text of attachment %s: %w", f.id, err)
			}
			f.text = text
		}
		if f.text != "" {
			out[f.article] += "\n" + f.text
		}
	}
	return out, nil
}

func (s *Service) readFile(ctx context.Context, id, mediaType string) (string, string) {
	r, err := s.Files.Open(ctx, attachment.Key(id))
	if err != nil {
		return "", "文件无法打开"
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxExtract+1))
	if err != nil {
		return "", "文件无法读取"
	}
	if len(data) > maxExtract {
		return "", "文件过大，未提取文字"
	}
	return extractText(data, mediaType)
}

// File is a file of a published article, as readers see it.
type File struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Size          int64  `json:"size"`
	MediaType     string `json:"mediaType"`
	TextExtracted bool   `json:"textExtracted"`
	Reason        string `json:"reason"`
}

// Files lists the files of a published article and whether their text is
// searched.
func (s *Service) FilesOf(ctx context.Context, id int64) ([]File, error) {
	rows, err := s.Pool.Query(ctx, `SELECT a.id, a.name, a.size, a.media_type, COALESCE(t.extracted, false), COALESCE(t.reason, '尚未提取')
		FROM kb_attachments f JOIN attachments a ON a.id = f.attachment_id LEFT JOIN kb_attachment_text t ON t.attachment_id = a.id
		WHERE f.ticket_id = $1 ORDER BY a.name, a.id`, id)
	if err != nil {
		return nil, fmt.Errorf("reading the files of article %d: %w", id, err)
	}
	defer rows.Close()
	out := []File{}
	for rows.Next() {
		var f File
		if err := rows.Scan(&f.ID, &f.Name, &f.Size, &f.MediaType, &f.TextExtracted, &f.Reason); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
