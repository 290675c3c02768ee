import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { TaskResult } from './TaskResult';

const pdf = {
  filename: 'il-manifesto.pdf',
  issue_date: '2023-12-31',
  pages: [
    {
      page_number: 1,
      status: 'processed',
      reason: '',
      articles: [
        { title: 'Oggi Alias D', subtitle: null, author: 'Redazione', body: 'Body text', topics: ['culture', 'books'], summary: 'A weekly supplement.' },
      ],
    },
    { page_number: 2, status: 'skipped', reason: 'vision model timed out', articles: [] },
  ],
};

describe('TaskResult', () => {
  it('renders a pdfxtract result as pages and articles, not JSON', () => {
    render(<TaskResult result={JSON.stringify(pdf)} />);
    const view = screen.getByTestId('pdf-result');
    expect(view).toHaveTextContent('il-manifesto.pdf · issue date 2023-12-31 · 2 pages · 1 article');
    expect(screen.getByRole('heading', { name: 'Oggi Alias D' })).toBeInTheDocument();
    expect(screen.getByText('By Redazione')).toBeInTheDocument();
    expect(within(screen.getByRole('list', { name: 'Topics' })).getAllByRole('listitem')).toHaveLength(2);
    expect(screen.getByText('Reason: vision model timed out')).toBeInTheDocument();
    expect(view).not.toHaveTextContent('"pages"');
  });

  it('shows a summary as text, collapsed when long', async () => {
    const user = userEvent.setup();
    const long = 'word '.repeat(1000);
    render(<TaskResult result={long} />);
    const toggle = screen.getByRole('button', { name: /Show all \(5,000 characters\)/ });
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    await user.click(toggle);
    expect(screen.getByRole('button', { name: 'Show less' })).toHaveAttribute('aria-expanded', 'true');
  });

  it('says when there is no result', () => {
    render(<TaskResult result={null} />);
    expect(screen.getByText('No result yet.')).toBeInTheDocument();
  });
});
