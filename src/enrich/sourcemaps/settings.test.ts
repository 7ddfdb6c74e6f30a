import { describe, expect, it } from 'vitest';
import { downloadOriginsFrom } from './settings.js';

describe('downloadOriginsFrom', () => {
  it('an app entry replaces its tenant entry; nothing configured means no downloads', () => {
    const originsFor = downloadOriginsFrom({
      shop: ['https://CDN.shop.example:443/'],
      'shop/checkout': ['https://*.static.example'],
    });
    expect(originsFor({ tenantId: 'shop', appId: 'web' })).toEqual(['https://cdn.shop.example']);
    expect(originsFor({ tenantId: 'shop', appId: 'checkout' })).toEqual([
      'https://*.static.example',
    ]);
    expect(originsFor({ tenantId: 'other', appId: 'web' })).toEqual([]);
  });

  it('refuses an origin that is not one, naming the key', () => {
    expect(() => downloadOriginsFrom({ shop: ['https://cdn.example/path'] })).toThrow(
      /sourcemaps\.download\.origins\.shop/,
    );
  });
});
