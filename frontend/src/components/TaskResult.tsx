// A task's result as a reader wants it: summary text as text, a pdfxtract result
// as its pages and articles, anything else as formatted JSON.
import { isObject, str } from '../api/normalize';
import { Badge } from './ui';
import { LongText } from './LongText';

interface Article {
  title: string;
  subtitle: string;
  author: string;
  body: string;
  topics: string[];
  summary: string;
}

interface PdfPage {
  page_number: number;
  status: string;
  reason: string;
  articles: Article[];
}

export interface PdfResult {
  filename: string;
  issue_date: string;
  pages: PdfPage[];
}

/** The pdfxtract result inside `text`, or null if it is not one. */
export function parsePdfResult(text: string): PdfResult | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(body) || !Array.isArray(body.pages)) return null;
  return {
    filename: str(body.filename),
    issue_date: str(body.issue_date, 'unknown'),
    pages: body.pages.filter(isObject).map((page, index) => ({
      page_number: typeof page.page_number === 'number' ? page.page_number : index + 1,
      status: str(page.status, 'processed'),
      reason: str(page.reason),
      articles: Array.isArray(page.articles)
        ? page.articles.filter(isObject).map((a) => ({
            title: str(a.title),
            subtitle: str(a.subtitle),
            author: str(a.author),
            body: str(a.body),
            topics: Array.isArray(a.topics) ? a.topics.map((t) => str(t)).filter(Boolean) : [],
            summary: str(a.summary),
          }))
        : [],
    })),
  };
}

export function TaskResult({ result }: { result: string | null | undefined }) {
  if (!result) return <p className="text-sm text-slate-500">No result yet.</p>;
  const pdf = parsePdfResult(result);
  if (pdf) return <PdfResultView result={pdf} />;
  let pretty: string | null = null;
  try {
    const parsed: unknown = JSON.parse(result);
    if (typeof parsed === 'object' && parsed !== null) pretty = JSON.stringify(parsed, null, 2);
  } catch {
    pretty = null;
  }
  return pretty ? <LongText text={pretty} mono limit={2000} /> : <LongText text={result} limit={2000} />;
}

function PdfResultView({ result }: { result: PdfResult }) {
  const articles = result.pages.reduce((total, page) => total + page.articles.length, 0);
  return (
    <div className="space-y-3" data-testid="pdf-result">
      <p className="text-sm text-slate-700">
        <span className="font-medium">{result.filename || 'PDF'}</span> · issue date {result.issue_date} ·{' '}
        {result.pages.length} page{result.pages.length === 1 ? '' : 's'} · {articles} article{articles === 1 ? '' : 's'}
      </p>
      {result.pages.map((page, index) => (
        <details key={`${page.page_number}-${index}`} open={index === 0} className="rounded-md border border-slate-200 bg-white">
          <summary className="flex cursor-pointer flex-wrap items-center gap-2 px-3 py-2 text-sm font-medium text-slate-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-500">
            Page {page.page_number}
            <Badge className={page.status === 'skipped' ? 'bg-amber-100 text-amber-800' : 'bg-green-100 text-green-800'}>
              {page.status}
            </Badge>
            <span className="font-normal text-slate-500">
              {page.articles.length} article{page.articles.length === 1 ? '' : 's'}
            </span>
          </summary>
          <div className="space-y-4 border-t border-slate-100 p-3">
            {page.reason && <p className="text-sm text-amber-800">Reason: {page.reason}</p>}
            {page.articles.map((article, i) => (
              <article key={i} className="border-l-4 border-purple-200 pl-3">
                <h5 className="font-semibold text-slate-900">{article.title || 'Untitled'}</h5>
                {article.subtitle && <p className="text-sm italic text-slate-700">{article.subtitle}</p>}
                {article.author && <p className="text-xs text-slate-500">By {article.author}</p>}
                {article.summary && (
                  <p className="mt-1 text-sm text-slate-800">
                    <span className="font-medium">Summary: </span>
                    {article.summary}
                  </p>
                )}
                {article.body && (
                  <div className="mt-1">
                    <LongText text={article.body} limit={400} />
                  </div>
                )}
                {article.topics.length > 0 && (
                  <ul className="mt-1 flex flex-wrap gap-1" aria-label="Topics">
                    {article.topics.map((topic, t) => (
                      <li key={t}>
                        <Badge className="bg-slate-100 text-slate-700">{topic}</Badge>
                      </li>
                    ))}
                  </ul>
                )}
              </article>
            ))}
          </div>
        </details>
      ))}
    </div>
  );
}
