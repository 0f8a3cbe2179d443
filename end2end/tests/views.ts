// The views the accessibility and screenshot specs visit, signed in as the admin (who may
// open every one of them), and the sign-in page, visited signed out.
export const JUNE = 'from=2026-06-01&to=2026-06-30';

export const VIEWS: { name: string; path: string }[] = [
  { name: 'company', path: `/?${JUNE}` },
  { name: 'dept-marketing', path: `/dept/marketing?${JUNE}` },
  { name: 'dept-sales', path: `/dept/sales?${JUNE}` },
  { name: 'dept-stores', path: `/dept/stores?${JUNE}` },
  { name: 'dept-online', path: `/dept/online?${JUNE}` },
  { name: 'dept-customer_service', path: `/dept/customer_service?${JUNE}` },
  { name: 'dept-logistics', path: `/dept/logistics?${JUNE}` },
  { name: 'kpi-detail', path: `/kpi/gross_revenue?${JUNE}` },
  { name: 'data', path: '/admin/sources?' },
  { name: 'journeys', path: `/journeys?${JUNE}` },
  { name: 'customer-360', path: '/customer?' },
  { name: 'admin', path: '/admin/users?' },
  { name: 'tv', path: `/tv?views=company&seconds=3600&${JUNE}` },
  { name: 'kpi-tree', path: `/insights/tree?${JUNE}` },
  { name: 'what-changed', path: `/insights/changed?kpi=store_conversion_rate&by=store&${JUNE}` },
  { name: 'alerts', path: '/alerts?' },
  { name: 'funnel', path: `/journeys/funnel?${JUNE}` },
];

/** `path` in `lang` (`?lang=..` or `&lang=..`). */
export function inLang(path: string, lang: string) {
  return path.endsWith('?') ? `${path}lang=${lang}` : `${path}&lang=${lang}`;
}
