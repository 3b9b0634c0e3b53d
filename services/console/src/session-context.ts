import { createContext } from 'preact';
import type { WhoAmI } from './api.js';

/** Who is logged in (undefined while unknown or logged out), and how to change it. */
export const Me = createContext<{ me: WhoAmI | undefined; setMe: (m: WhoAmI | undefined) => void }>({ me: undefined, setMe: () => undefined });

export const canSeeRecordings = (me: WhoAmI | undefined): boolean => !!me && (me.roles.includes('soc') || me.roles.includes('admin'));
export const canSeeApprovals = (me: WhoAmI | undefined): boolean => !!me && me.roles.length > 0;
export const canDecide = (me: WhoAmI | undefined): boolean => !!me && me.roles.includes('approver');
