select
    origin::text                     as origin,
    observed_at::timestamptz         as observed_at,
    observation_date::date           as observation_date,
    temp_f::double precision         as temp_f,
    dewp_f::double precision         as dewp_f,
    humidity_pct::double precision   as humidity_pct,
    wind_dir_deg::integer            as wind_dir_deg,
    wind_speed_mph::double precision as wind_speed_mph,
    wind_gust_mph::double precision  as wind_gust_mph,
    precip_in::double precision      as precip_in,
    pressure_mb::double precision    as pressure_mb,
    visibility_mi::double precision  as visibility_mi,
    source_file::text                as source_file,
    source_row::integer              as source_row,
    landed_at::timestamptz           as landed_at
from {{ source('clean', 'weather') }}
