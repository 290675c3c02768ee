// What the pages share: the API client and the live store.
import { createContext, useContext } from 'react';
import type { ApiClient } from './api/client';
import type { LiveStore } from './live/store';

export interface Services {
  client: ApiClient;
  store: LiveStore;
}

export const ServicesContext = createContext<Services | null>(null);

export function useServices(): Services {
  const services = useContext(ServicesContext);
  if (!services) throw new Error('useServices outside <ServicesContext.Provider>');
  return services;
}
