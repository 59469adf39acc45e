select
    carrier::text as carrier,
    name::text    as carrier_name
from {{ source('clean', 'airlines') }}
