-- The proof of concept's demo data, corrected: every point is where it really
-- is (latitude, longitude), around San Mateo (37.55 N 122.29 W) and
-- Albuquerque (35.05 N 106.57 W); times are UTC. Safe to load twice; a
-- person deleted since (deleted_person) is not loaded again, nor their
-- reports.
INSERT INTO person (id, first_name, last_name, company_name, event_source, event_id)
SELECT id, first_name, last_name, company_name, '/udaconnect/seed', 'person-' || id
FROM (VALUES
    (1, 'Pam', 'Trexler', 'Hampton, Hampton and McQuill'),
    (5, 'Taco', 'Fargo', 'Alpha Omega Upholstery'),
    (6, 'Frank', 'Shader', 'USDA'),
    (8, 'Paul', 'Badman', 'Paul Badman & Associates'),
    (9, 'Otto', 'Spring', 'The Chicken Sisters Restaurant')
) AS seed (id, first_name, last_name, company_name)
WHERE id NOT IN (SELECT id FROM deleted_person)
ON CONFLICT DO NOTHING;

-- Each location stored is queued for detection, as locations does
-- (docs/design.md, "Meetings"); one stored before is not queued again.
WITH stored AS (
INSERT INTO location (id, person_id, coordinate, creation_time, event_source, event_id)
SELECT id, person_id, ST_MakePoint(longitude, latitude)::geography, creation_time::timestamptz, '/udaconnect/seed', 'location-' || id
FROM (VALUES
    (29, 1, 37.553441, -122.290524, '2020-08-18 10:37:06+00'),
    (30, 5, 37.55363, -122.290883, '2020-08-15 10:37:06+00'),
    (31, 5, 37.553441, -122.290524, '2020-08-15 10:37:06+00'),
    (32, 1, 37.553441, -122.290521, '2020-08-15 10:37:06+00'),
    (33, 1, 37.553451, -122.290521, '2020-08-19 10:37:06+00'),
    (34, 6, 37.55363, -122.290883, '2020-07-07 10:37:06+00'),
    (36, 1, 37.55363, -122.290883, '2020-07-07 10:37:06+00'),
    (37, 1, 37.55363, -122.290883, '2020-07-07 10:37:06+00'),
    (38, 1, 37.55363, -122.290883, '2020-07-07 10:37:06+00'),
    (39, 1, 37.55363, -122.290883, '2020-07-07 10:37:06+00'),
    (40, 1, 37.55363, -122.290883, '2020-07-07 10:37:06+00'),
    (41, 1, 37.55363, -122.290883, '2020-07-07 10:37:06+00'),
    (42, 6, 35.0585136, -106.5719566, '2020-07-07 10:37:06+00'),
    (43, 6, 35.0585136, -106.5719566, '2020-07-06 10:37:06+00'),
    (44, 6, 35.0585136, -106.5719566, '2020-07-07 10:37:06+00'),
    (45, 6, 35.058506, -106.5722575, '2020-07-05 10:37:06+00'),
    (46, 6, 35.058564, -106.5721845, '2020-04-07 10:37:06+00'),
    (47, 6, 35.058564, -106.5721846, '2020-05-01 10:37:06+00'),
    (48, 6, 35.058564, -106.5721845, '2020-07-07 10:37:06+00'),
    (49, 8, 35.058564, -106.5721845, '2020-07-07 10:38:06+00'),
    (50, 8, 35.058564, -106.5721846, '2020-07-07 10:38:06+00'),
    (51, 8, 35.058564, -106.5721846, '2020-07-01 10:38:06+00'),
    (52, 9, 35.058564, -106.5721846, '2020-07-01 10:38:06+00'),
    (53, 9, 35.0585136, -106.5719566, '2020-07-07 10:37:06+00'),
    (54, 9, 35.0585136, -106.5719566, '2019-07-07 10:37:06+00'),
    (55, 5, 35.0585136, -105.5719566, '2019-07-07 10:37:06+00'),
    (56, 5, 34.0585136, -105.5719566, '2019-07-07 10:37:06+00'),
    (57, 5, 37.55363, -122.290883, '2020-07-07 10:37:06+00'),
    (58, 8, 35.0585136, -106.5719566, '2020-07-07 10:37:06+00'),
    (59, 8, 35.0585136, -106.5719566, '2020-07-07 10:37:06+00'),
    (60, 8, 35.0585136, -106.5719566, '2020-07-06 10:37:06+00'),
    (61, 8, 35.0585136, -106.5719561, '2020-07-05 10:37:06+00'),
    (62, 8, 35.0585136, -106.5719521, '2020-01-05 10:37:06+00'),
    (63, 5, 35.0585136, -106.5719521, '2020-01-05 10:37:06+00'),
    (64, 6, 35.0585136, -106.5719521, '2020-01-05 10:37:06+00'),
    (65, 9, 37.55363, -122.290883, '2020-07-07 10:37:06+00'),
    (66, 5, 37.55363, -122.290883, '2020-07-07 10:37:06+00'),
    (67, 8, 37.55363, -122.290883, '2020-07-07 10:37:06+00'),
    (68, 6, 37.55363, -122.290883, '2020-08-15 10:37:06+00')
) AS seed (id, person_id, latitude, longitude, creation_time)
WHERE person_id NOT IN (SELECT id FROM deleted_person)
ON CONFLICT DO NOTHING
RETURNING id, creation_time
)
INSERT INTO detect_backlog (zone, location_ids)
SELECT 0, array_agg(id ORDER BY creation_time, id) FROM stored HAVING count(*) > 0;

SELECT setval(pg_get_serial_sequence('person', 'id'), (SELECT max(id) FROM person));
SELECT setval(pg_get_serial_sequence('location', 'id'), (SELECT max(id) FROM location));
