import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { getAgentConnection } from '../api/index.js';
import { AgentStore, type AgentState } from './agent-store.js';

const StoreContext = createContext<AgentStore | null>(null);

export function AgentProvider({ children, store: given }: { children: ReactNode; store?: AgentStore }) {
  const [store] = useState(() => given ?? new AgentStore(getAgentConnection()));
  useEffect(() => {
    store.start();
    return () => store.stop();
  }, [store]);
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}

export function useAgentStore(): AgentStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useAgentStore outside AgentProvider');
  return store;
}

/** The snapshot kept current by the agent's events, the load error, and the transport state. */
export function useAgent(): AgentState & { store: AgentStore } {
  const store = useAgentStore();
  const state = useSyncExternalStore(store.subscribe, store.getState);
  return { ...state, store };
}
