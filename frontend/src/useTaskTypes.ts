// The registered task types (GET /api/v1/task-types), loaded once a minute; empty
// until they are in, or when the gateway cannot say.
import { useServices } from './services';
import type { TaskTypeInfo } from './api/types';
import { usePolling } from './usePolling';

const NONE: TaskTypeInfo[] = [];

export function useTaskTypes(): TaskTypeInfo[] {
  const { client } = useServices();
  return usePolling((signal) => client.taskTypes(signal), 60_000).data ?? NONE;
}
