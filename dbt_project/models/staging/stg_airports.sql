select
    faa::text                 as airport_code,
    name::text                as airport_name,
    lat::double precision     as latitude,
    lon::double precision     as longitude,
    alt_ft::integer           as altitude_ft,
    utc_offset_hours::integer as utc_offset_hours,
    dst::text                 as dst_code,
    tzone::text               as timezone
from {{ source('clean', 'airports') }}
