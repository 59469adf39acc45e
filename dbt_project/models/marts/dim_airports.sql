{{ config(materialized='table') }}

select
    airport_code::text          as airport_code,
    airport_name::text          as airport_name,
    latitude::double precision  as latitude,
    longitude::double precision as longitude,
    altitude_ft::integer        as altitude_ft,
    utc_offset_hours::integer   as utc_offset_hours,
    dst_code::text              as dst_code,
    timezone::text              as timezone
from {{ ref('stg_airports') }}
