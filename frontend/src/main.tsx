import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { api } from './api/client';
import { App } from './App';
import './index.css';
import { QueueStream } from './live/queueStream';
import { LiveStore } from './live/store';

const store = new LiveStore(250);
const stream = new QueueStream({ client: api, store });
const root = document.getElementById('root');
if (!root) throw new Error('no #root element');

createRoot(root).render(
  <StrictMode>
    <App services={{ client: api, store }} stream={stream} />
  </StrictMode>,
);
