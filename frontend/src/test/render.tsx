import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { ServicesContext, type Services } from '../services';

export function renderWith(services: Services, ui: ReactElement) {
  return render(<ServicesContext.Provider value={services}>{ui}</ServicesContext.Provider>);
}
