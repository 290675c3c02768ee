// The bearer token for the gateway, kept for this browser tab's session only.
const KEY = 'asynctaskflow.token';

export interface TokenStore {
  get(): string | null;
  set(token: string): void;
  clear(): void;
}

export const sessionTokenStore: TokenStore = {
  get() {
    try {
      return sessionStorage.getItem(KEY);
    } catch {
      return null;
    }
  },
  set(token) {
    try {
      sessionStorage.setItem(KEY, token);
    } catch {
      // Storage may be disabled (private mode); the token then lives for this page only.
    }
  },
  clear() {
    try {
      sessionStorage.removeItem(KEY);
    } catch {
      // Nothing stored.
    }
  },
};

/** A store that keeps the token in memory (tests, or when storage is blocked). */
export function memoryTokenStore(initial: string | null = null): TokenStore {
  let token = initial;
  return {
    get: () => token,
    set: (value) => {
      token = value;
    },
    clear: () => {
      token = null;
    },
  };
}
