-- Collections belong to a tenant (the API key's); names are unique within a tenant, so one team
-- cannot learn of another's collection by trying to create the same name. Rows from before tenants
-- belong to "local", the tenant of open mode.
ALTER TABLE collections ADD COLUMN tenant text NOT NULL DEFAULT 'local';
ALTER TABLE collections DROP CONSTRAINT collections_name_key;
ALTER TABLE collections ADD CONSTRAINT collections_tenant_name_key UNIQUE (tenant, name);
