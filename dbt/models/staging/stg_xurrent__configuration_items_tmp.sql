-- Every configuration_items row of every connection, typed, with its owning account and is_kept_copy.
{{ xurrent.stage_table('configuration_items') }}
